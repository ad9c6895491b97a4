import { createHash } from "node:crypto";
import { and, eq, sql } from "drizzle-orm";
import type { Database } from "../../db/database";
import { arrayParameter, fixedQuery } from "../../db/fixed-query";
import { PREPARED } from "../prepared";
import { inboxTable } from "./inbox-table";

/** What the inbox keeps of one handled event (see inboxTable); a type, not an interface, to pass as query values. */
export type InboxRow = {
  consumer: string;
  eventId: string;
  eventType: string;
  /** See payloadHash. */
  payloadHash: string;
};

/** What the inbox keeps of an event to tell a redelivery from another event under a reused id. */
export function payloadHash(type: string, data: Uint8Array): string {
  return createHash("sha256").update(type).update("\0").update(data).digest("base64url");
}

const inbox = inboxTable();

// The inbox's statements, built once (see fixedQuery).
const inboxRow = {
  consumer: sql.placeholder("consumer"),
  eventId: sql.placeholder("eventId"),
  eventType: sql.placeholder("eventType"),
  payloadHash: sql.placeholder("payloadHash"),
};
const claimInbox = fixedQuery(PREPARED.inboxClaim, (db) =>
  db.insert(inbox).values(inboxRow).onConflictDoNothing().returning({ id: inbox.eventId }),
);
const inboxHas = fixedQuery(PREPARED.inboxSeen, (db) =>
  db
    .select({ id: inbox.eventId, payloadHash: inbox.payloadHash })
    .from(inbox)
    .where(and(eq(inbox.consumer, sql.placeholder("consumer")), eq(inbox.eventId, sql.placeholder("eventId")))),
);
const recordInbox = fixedQuery(PREPARED.inboxRecord, (db) => db.insert(inbox).values(inboxRow).onConflictDoNothing());
// A batch's rows in one statement, whatever their number (ids and types as two array parameters).
const claimInboxBatch = fixedQuery(PREPARED.inboxClaimBatch, (db) =>
  db
    .insert(inbox)
    .select(
      sql`select ${sql.placeholder("consumer")}::text, e.id, e.type, e.hash, now() from unnest(${sql.placeholder("eventIds")}::text[], ${sql.placeholder("eventTypes")}::text[], ${sql.placeholder("payloadHashes")}::text[]) as e(id, type, hash)`,
    )
    .onConflictDoNothing()
    .returning({ id: inbox.eventId }),
);

/**
 * Takes the event's inbox row in the handler's transaction, before the handler runs: false when it is
 * taken (handled before; a concurrent copy of the same event waits on the row, then finds it taken).
 */
export async function claimEvent(tx: Database<any>, row: InboxRow): Promise<boolean> {
  return (await claimInbox(tx, row)).length > 0;
}

/**
 * Takes the inbox rows of a batch's events in one statement (all of `consumer`); answers the ids it took.
 * An id twice in `rows` (an event published twice) is taken once.
 */
export async function claimEvents(
  tx: Database<any>,
  consumer: string,
  rows: readonly Omit<InboxRow, "consumer">[],
): Promise<Set<string>> {
  const claimed = await claimInboxBatch(tx, {
    consumer,
    eventIds: arrayParameter(rows.map((r) => r.eventId)),
    eventTypes: arrayParameter(rows.map((r) => r.eventType)),
    payloadHashes: arrayParameter(rows.map((r) => r.payloadHash)),
  });
  return new Set(claimed.map((r) => r.id));
}

/** Whether the event was handled before: the look an ownTransactions handler's event takes first. */
export async function wasHandled(db: Database<any>, row: InboxRow): Promise<boolean> {
  return (await inboxHas(db, row)).length > 0;
}

/** Records the event as handled after an ownTransactions handler's work (a crash between them repeats it). */
export async function recordHandled(db: Database<any>, row: InboxRow): Promise<void> {
  await recordInbox(db, row);
}

/**
 * Whether the inbox holds the event's id with another payload: then this is no redelivery but a forgery
 * or a producer's bug. A row written before the hash was kept ('') matches any payload.
 */
export async function handledWithAnotherPayload(db: Database<any>, row: InboxRow): Promise<boolean> {
  const [seen] = await inboxHas(db, row);
  return Boolean(seen?.payloadHash && seen.payloadHash !== row.payloadHash);
}
