import { sql } from "drizzle-orm";
import {
  bigint,
  check,
  index,
  integer,
  pgTable,
  pgView,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";
import { outboxTable } from "../../kit/events";

/**
 * Products and their stock. `stock` is what is on hand (committed sales already taken off), `reserved`
 * what active reservations hold; the CHECKs are the no-oversell invariant, enforced by Postgres itself
 * so that no code path (or operator) can break it.
 */
export const products = pgTable(
  "products",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    priceMinor: bigint("price_minor", { mode: "bigint" }).notNull(),
    currency: text("currency").notNull(),
    stock: integer("stock").notNull(),
    reserved: integer("reserved").notNull().default(0),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    check("products_stock_not_negative", sql`${t.stock} >= 0`),
    check("products_reserved_not_negative", sql`${t.reserved} >= 0`),
    check("products_reserved_within_stock", sql`${t.reserved} <= ${t.stock}`),
  ],
);

export const RESERVATION_STATES = ["active", "committed", "released", "expired"] as const;

/** One reservation per ReserveItems that took stock; it ends committed, released or expired. */
export const reservations = pgTable(
  "reservations",
  {
    id: uuid("id").primaryKey(),
    orderId: text("order_id").notNull(),
    status: text("status", { enum: RESERVATION_STATES }).notNull(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    releaseReason: text("release_reason").notNull().default(""),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    check("reservations_status_known", sql`${t.status} in ('active', 'committed', 'released', 'expired')`),
    // At most one reservation per order that holds or has taken stock: a retried ReserveItems, even two
    // racing on different replicas, can never reserve twice for one order.
    uniqueIndex("reservations_one_live_per_order")
      .on(t.orderId)
      .where(sql`${t.status} in ('active', 'committed')`),
    // What the expiry sweeper scans.
    index("reservations_active_expiry")
      .on(t.expiresAt)
      .where(sql`${t.status} = 'active'`),
  ],
);

export const reservationItems = pgTable(
  "reservation_items",
  {
    // Foreign keys to reservations and products are in migration 0001: drizzle-kit would qualify them
    // with "public", but these tables live in the service's own schema (search_path).
    reservationId: uuid("reservation_id").notNull(),
    productId: text("product_id").notNull(),
    quantity: integer("quantity").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.reservationId, t.productId] }),
    index("reservation_items_product_id").on(t.productId),
    check("reservation_items_quantity_positive", sql`${t.quantity} > 0`),
  ],
);

/**
 * For operators and the invariant checker: per product, `reserved` as kept on the product beside the
 * sum of its ACTIVE reservations' quantities. The two must always be equal:
 *   select * from reserved_per_product where reserved <> held_by_active_reservations;  -- no rows
 */
export const reservedPerProduct = pgView("reserved_per_product", {
  productId: text("product_id").notNull(),
  stock: integer("stock").notNull(),
  reserved: integer("reserved").notNull(),
  heldByActiveReservations: integer("held_by_active_reservations").notNull(),
}).existing(); // created in migration 0001, for the same "public" reason as the foreign keys

/** ReservationExpired events, written by the transaction that expires the reservation; the kit's relay publishes them. */
export const outbox = outboxTable();
