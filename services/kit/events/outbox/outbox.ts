import { create, toBinary, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import { sql } from "drizzle-orm";
import { afterCommit } from "../../db/after-commit";
import type { Database } from "../../db/database";
import { eventTraceparent } from "../event-spans";
import type { EventType } from "../topology/contract";
import { outboxTable } from "./outbox-table";
import { fixedQuery } from "../../db/fixed-query";
import { PREPARED } from "../prepared";

// Every service's outbox has the same name and columns, so one definition writes to any of them.
const outbox = outboxTable();

// See PREPARED: one round trip instead of two; see fixedQuery: built once.
const insertRow = fixedQuery(PREPARED.outboxInsert, (db) =>
  db.insert(outbox).values({
    id: sql.placeholder("id"),
    subject: sql.placeholder("subject"),
    type: sql.placeholder("type"),
    entityId: sql.placeholder("entityId"),
    traceparent: sql.placeholder("traceparent"),
    payload: sql.placeholder("payload"),
  }),
);

const CHANNEL_PREFIX = "outbox_";

/** The LISTEN/NOTIFY channel on which a schema's relay is woken: outbox_<schema>. */
export const outboxChannel = (schema: string) => `${CHANNEL_PREFIX}${schema}`;

// The writer's schema is the one on its search_path; the prefix as a literal keeps the query without
// parameters (one round trip, see PREPARED).
const notifyRelay = sql`select pg_notify(${sql.raw(`'${CHANNEL_PREFIX}'`)} || current_schema(), '')`;

/**
 * Writes an event into the outbox, inside `tx`, the transaction that makes the change it reports:
 * both commit or neither does. The relay publishes it after the commit, woken by a NOTIFY sent right
 * after it (on a database from openDatabase), or at the latest by its OUTBOX_POLL_MS poll. Returns the
 * event id.
 *
 * @example
 *   await db.transaction(async (tx) => {
 *     const [row] = await tx.update(orders).set({ state: "confirmed" }).where(eq(orders.id, id)).returning();
 *     await writeEvent(tx, OrderConfirmed, { order: toProto(row) }, { entityId: id });
 *   });
 */
export async function writeEvent<D extends DescMessage>(
  // Any service's database or transaction (whatever its schema type): the outbox is on its search_path.
  tx: Database<any>,
  type: EventType<D>,
  message: MessageInitShape<D>,
  opts: { entityId?: string; traceparent?: string; id?: string } = {},
): Promise<string> {
  const id = opts.id ?? crypto.randomUUID();
  await insertRow(tx, {
    id,
    subject: type.subject,
    type: type.type,
    entityId: opts.entityId ?? "",
    traceparent: opts.traceparent || eventTraceparent(type.subject, id),
    payload: toBinary(type.schema, create(type.schema, message)),
  });
  // Not a NOTIFY inside the transaction: Postgres holds one database-wide lock from a notifying
  // transaction's commit until its WAL is flushed, so every writer would commit (and fsync) one after
  // another. A NOTIFY of its own after the commit writes no WAL and holds that lock for a moment.
  if (!afterCommit(tx, wakeRelay)) await tx.execute(notifyRelay);
  return id;
}

/** Per database: a NOTIFY in flight, and whether another commit since it began needs one more. */
const waking = new WeakMap<object, { again: boolean }>();

/**
 * Sends the relay's NOTIFY once this commit is visible. Commits that come while one is in flight share
 * the next: every commit is followed by a NOTIFY sent after it. A lost one (the process died between
 * commit and NOTIFY, the database did not answer) leaves the rows to the relay's next pass or poll.
 */
function wakeRelay(db: Database<any>): void {
  const inFlight = waking.get(db);
  if (inFlight) {
    inFlight.again = true;
    return;
  }
  const state = { again: false };
  waking.set(db, state);
  void (async () => {
    try {
      do {
        state.again = false;
        await db.execute(notifyRelay);
      } while (state.again);
    } catch {
      // The poll is the safety net for exactly this.
    } finally {
      waking.delete(db);
    }
  })();
}
