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
      handledAt: timestamp("handled_at", { withTimezone: true }).notNull().defaultNow(),
    },
    (t) => [primaryKey({ columns: [t.consumer, t.eventId] })],
  );
}

export type InboxTable = ReturnType<typeof inboxTable>;
