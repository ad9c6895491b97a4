import { pgTable, primaryKey, text, timestamp } from "drizzle-orm/pg-core";

/**
 * The inbox of a consuming service: one row per (consumer, event id) it has handled, written in the
 * same transaction as the handler's effect, so a redelivered event changes nothing twice.
 *
 * @example
 *   // services/marketing/db/schema.ts
 *   export const inbox = inboxTable();
 */
export function inboxTable() {
  return pgTable(
    "inbox",
    {
      consumer: text("consumer").notNull(),
      eventId: text("event_id").notNull(),
      eventType: text("event_type").notNull(),
      // SHA-256 of the event's type and payload: the same id with another payload is not a redelivery but
      // a forgery or a bug, and is dead-lettered ('' for rows written before it was kept).
      payloadHash: text("payload_hash").notNull().default(""),
      handledAt: timestamp("handled_at", { withTimezone: true }).notNull().defaultNow(),
    },
    (t) => [primaryKey({ columns: [t.consumer, t.eventId] })],
  );
}

export type InboxTable = ReturnType<typeof inboxTable>;
