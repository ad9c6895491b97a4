import { create, toBinary, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import { sql } from "drizzle-orm";
import type { Database } from "../db/database";
import { newTraceparent } from "./cloud-event-headers";
import type { EventType } from "./event-types";
import { outboxTable } from "./outbox-table";

// Every service's outbox has the same name and columns, so one definition writes to any of them.
const outbox = outboxTable();

/** The LISTEN/NOTIFY channel on which a schema's relay is woken: outbox_<schema>. */
export const outboxChannel = (schema: string) => `outbox_${schema}`;

/**
 * Writes an event into the outbox, inside `tx`, the transaction that makes the change it reports:
 * both commit or neither does. The relay publishes it after the commit (woken by the NOTIFY that
 * commits with it). Returns the event id.
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
  await tx.insert(outbox).values({
    id,
    subject: type.subject,
    type: type.type,
    entityId: opts.entityId ?? "",
    traceparent: opts.traceparent || newTraceparent(),
    payload: toBinary(type.schema, create(type.schema, message)),
  });
  // Delivered when (and only if) the transaction commits.
  await tx.execute(sql`select pg_notify('outbox_' || current_schema(), '')`);
  return id;
}
