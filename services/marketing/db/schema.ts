import { bigint, integer, pgTable, primaryKey, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { inboxTable } from "../../kit/events";

/** Events this service has handled, per consumer: a redelivered one counts once. */
export const inbox = inboxTable();

/** One row per customer seen in any event; counters only ever grow. */
export const profiles = pgTable("profiles", {
  customerId: uuid("customer_id").primaryKey(),
  registeredAt: timestamp("registered_at", { withTimezone: true }),
  ordersPlaced: integer("orders_placed").notNull().default(0),
  ordersConfirmed: integer("orders_confirmed").notNull().default(0),
  ordersCancelled: integer("orders_cancelled").notNull().default(0),
  paymentFailures: integer("payment_failures").notNull().default(0),
  lastActivity: timestamp("last_activity", { withTimezone: true }).notNull(),
});

/** Net confirmed spend per customer and currency, in minor units. */
export const spend = pgTable(
  "profile_spend",
  {
    customerId: uuid("customer_id").notNull(),
    currency: text("currency").notNull(),
    amountMinor: bigint("amount_minor", { mode: "bigint" }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.customerId, t.currency] })],
);
