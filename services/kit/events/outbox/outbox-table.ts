import { sql } from "drizzle-orm";
import { bigint, customType, index, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";

/** Raw bytes (the protobuf body); postgres.js hands back a Buffer, PGlite a Uint8Array. */
export const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({
  dataType: () => "bytea",
  toDriver: (value) => Buffer.from(value.buffer, value.byteOffset, value.byteLength),
  fromDriver: (value) => new Uint8Array(value),
});

/**
 * The transactional outbox of a publishing service: an event is a row written in the same transaction
 * as the state change it reports; the kit's relay publishes unpublished rows in `seq` order and sets
 * `published_at`. Put it in the service's drizzle schema and generate a migration:
 *
 * @example
 *   // services/order/db/schema.ts
 *   export const outbox = outboxTable();
 *
 * ce-source is the publishing service, added by its relay.
 */
export function outboxTable() {
  return pgTable(
    "outbox",
    {
      /** The relay's order: the order rows were written in. */
      seq: bigint("seq", { mode: "number" }).generatedAlwaysAsIdentity(),
      /** The event id: ce-id, Nats-Msg-Id and the consumers' inbox key. */
      id: uuid("id").primaryKey(),
      /** Unprefixed, e.g. orders.confirmed (EVENTS_PREFIX is added when published). */
      subject: text("subject").notNull(),
      /** The protobuf message's full name, e.g. shop.order.v1.OrderConfirmed. */
      type: text("type").notNull(),
      /** What the event is about (ce-subject), e.g. the order id. */
      entityId: text("entity_id").notNull().default(""),
      traceparent: text("traceparent").notNull(),
      payload: bytea("payload").notNull(),
      createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
      publishedAt: timestamp("published_at", { withTimezone: true }),
    },
    (t) => [
      index("outbox_unpublished")
        .on(t.seq)
        .where(sql`${t.publishedAt} is null`),
    ],
  );
}

export type OutboxTable = ReturnType<typeof outboxTable>;
