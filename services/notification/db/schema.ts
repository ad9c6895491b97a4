import { index, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { inboxTable } from "../../kit/events";

/** Events this service has handled, per consumer: a redelivered one sends nothing twice. */
export const inbox = inboxTable();

/**
 * Notification's own copy of who the customers are, from CustomerRegistered events: an e-mail still goes
 * out while the customer service is down, and no synchronous call sits inside an event handler.
 */
export const customers = pgTable("customers", {
  id: uuid("id").primaryKey(),
  email: text("email").notNull(),
  name: text("name").notNull(),
  registeredAt: timestamp("registered_at", { withTimezone: true }).notNull(),
});

export const EMAIL_KINDS = ["order_confirmed", "order_payment_failed", "order_cancelled"] as const;
export type EmailKind = (typeof EMAIL_KINDS)[number];

/**
 * One row per e-mail sent, written in the transaction that sends it (with the inbox row): exactly one
 * per event, which the invariant checker counts per order.
 */
export const emails = pgTable(
  "emails",
  {
    eventId: text("event_id").primaryKey(),
    kind: text("kind", { enum: EMAIL_KINDS }).notNull(),
    orderId: uuid("order_id").notNull(),
    customerId: uuid("customer_id").notNull(),
    recipient: text("recipient").notNull(),
    subject: text("subject").notNull(),
    messageId: text("message_id").notNull(),
    sentAt: timestamp("sent_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index("emails_order").on(t.orderId, t.kind)],
);
