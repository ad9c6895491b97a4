import { sql } from "drizzle-orm";
import {
  bigint,
  boolean,
  check,
  index,
  integer,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uuid,
} from "drizzle-orm/pg-core";
import { inboxTable, outboxTable } from "../../kit/events";
import { ORDER_STATES, SAGA_TARGETS } from "../domain/order";

export const orders = pgTable(
  "orders",
  {
    id: uuid("id").primaryKey(),
    customerId: uuid("customer_id").notNull(),
    state: text("state", { enum: ORDER_STATES }).notNull(),
    // The saga under way (domain/order.ts): the state it drives the order to, '' when none.
    target: text("target", { enum: SAGA_TARGETS }).notNull().default(""),
    currency: text("currency").notNull(),
    totalMinor: bigint("total_minor", { mode: "bigint" }).notNull(),
    reservationId: text("reservation_id").notNull().default(""),
    paymentId: text("payment_id").notNull().default(""),
    stateReason: text("state_reason").notNull().default(""),
    cardToken: text("card_token").notNull().default(""),
    refunded: boolean("refunded").notNull().default(false),
    // One saga step at a time per order: whoever holds an unexpired lease may change the order, and
    // only while the token is still theirs (a stalled holder whose lease was taken over writes nothing).
    leaseUntil: timestamp("lease_until", { withTimezone: true }),
    leaseToken: uuid("lease_token"),
    // When the recovery worker may take up a saga left unfinished (with nobody holding the lease), and
    // how often in a row its step failed (the worker backs off by it).
    recoverAt: timestamp("recover_at", { withTimezone: true }),
    attempts: integer("attempts").notNull().default(0),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull(),
  },
  (t) => [
    index("orders_customer_created").on(t.customerId, t.createdAt.desc(), t.id.desc()),
    index("orders_state_updated").on(t.state, t.updatedAt),
    index("orders_recovery_due")
      .on(t.recoverAt)
      .where(sql`${t.target} <> ''`),
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
  (t) => [
    primaryKey({ columns: [t.orderId, t.lineNo] }),
    check("order_lines_quantity_positive", sql`${t.quantity} > 0`),
  ],
);

/** Order events (OrderCreated, OrderConfirmed, …), written with each state change; the kit's relay publishes them. */
export const outbox = outboxTable();

/** Events this service has handled (its consumers' idempotency), written with their effects. */
export const inbox = inboxTable();
