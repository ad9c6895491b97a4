import { sql } from "drizzle-orm";
import { bigint, check, index, integer, pgTable, primaryKey, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { inboxTable } from "../../kit/events/inbox-table";
import { outboxTable } from "../../kit/events/outbox-table";

export const ORDER_STATES = ["pending", "reserved", "payment_pending", "confirmed", "payment_failed", "cancelled"] as const;
export type OrderState = (typeof ORDER_STATES)[number];

export const orders = pgTable(
  "orders",
  {
    id: uuid("id").primaryKey(),
    customerId: uuid("customer_id").notNull(),
    state: text("state", { enum: ORDER_STATES }).notNull(),
    currency: text("currency").notNull(),
    totalMinor: bigint("total_minor", { mode: "bigint" }).notNull(),
    reservationId: text("reservation_id").notNull().default(""),
    paymentId: text("payment_id").notNull().default(""),
    stateReason: text("state_reason").notNull().default(""),
    // One saga step at a time per order: whoever holds an unexpired lease may change the order.
    leaseUntil: timestamp("lease_until", { withTimezone: true }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull(),
  },
  (t) => [
    index("orders_customer_created").on(t.customerId, t.createdAt.desc(), t.id.desc()),
    index("orders_state_updated").on(t.state, t.updatedAt),
    check("orders_total_positive", sql`${t.totalMinor} > 0`),
  ],
);

export const orderLines = pgTable(
  "order_lines",
  {
    // The foreign key to orders is in migration 0001: drizzle-kit would qualify it with "public", but
    // these tables live in the service's own schema (search_path).
    orderId: uuid("order_id").notNull(),
    lineNo: integer("line_no").notNull(),
    productId: text("product_id").notNull(),
    quantity: integer("quantity").notNull(),
    unitPriceMinor: bigint("unit_price_minor", { mode: "bigint" }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.orderId, t.lineNo] }), check("order_lines_quantity_positive", sql`${t.quantity} > 0`)],
);

/** Order events (OrderCreated, OrderConfirmed, …), written with each state change; the kit's relay publishes them. */
export const outbox = outboxTable();

/** Events this service has handled (its consumers' idempotency), written with their effects. */
export const inbox = inboxTable();
