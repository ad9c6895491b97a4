import { sql } from "drizzle-orm";
import { bigint, check, index, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";

/** One row per charge attempt that reached the provider; the idempotency key makes a retry find it. */
export const payments = pgTable(
  "payments",
  {
    id: uuid("id").primaryKey(),
    orderId: text("order_id").notNull(),
    amountMinor: bigint("amount_minor", { mode: "bigint" }).notNull(),
    currency: text("currency").notNull(),
    state: text("state", { enum: ["captured", "declined", "refunded"] }).notNull(),
    declineReason: text("decline_reason").notNull().default(""),
    idempotencyKey: text("idempotency_key").notNull().unique(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull(),
  },
  (t) => [index("payments_order_id").on(t.orderId), check("payments_amount_positive", sql`${t.amountMinor} > 0`)],
);
