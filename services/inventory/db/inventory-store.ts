import { and, asc, eq, gt, inArray, lte, sql } from "drizzle-orm";
import { type Database, arrayParameter, fixedQuery } from "../../kit/db";
import { ReservationExpired } from "../contract/events";
import { writeEvent } from "../../kit/events";
import { InventoryError } from "../domain/inventory-error";
import type { InventoryStore } from "../domain/inventory-store";
import { available, stockChangeProblem, type NewProduct, type ProductRecord } from "../domain/products";
import {
  commitStep,
  releaseStep,
  unitsByProduct,
  type ReservationRecord,
  type ReservedItem,
} from "../domain/reservations";
import * as schema from "./schema";

const { products, reservations, reservationItems } = schema;

export type InventoryDatabase = Database<typeof schema>;

/*
 * How concurrent reservations stay correct (many requests, several replicas, one schema):
 *
 * Stock is taken with a conditional UPDATE, `reserved = reserved + q WHERE stock - reserved >= q`, at
 * READ COMMITTED. Postgres locks the row and re-checks the WHERE against the newest committed version
 * before it writes, so two requests can never both see "enough" for the last unit; the loser gets zero
 * rows back and answers FailedPrecondition. No read-then-write window, no SERIALIZABLE retries, one
 * round trip per product. (Taking the row locks with SELECT ... FOR UPDATE first would also work, but
 * costs a round trip more and holds the lock while the application decides.) The CHECK constraints on
 * products are the backstop should any code path ever get this wrong.
 *
 * Deadlock freedom: every transaction that touches several product rows does so in product id order
 * (unitsByProduct), and any wait on a reservation row (FOR UPDATE in release/commit, the unique index
 * of a second ReserveItems for the same order) happens before the transaction locks any product. The
 * expiry sweep takes reservation rows with SKIP LOCKED, so replicas sweeping together split the work
 * instead of queueing, and it never waits on a reservation row at all.
 */

/**
 * The statements of the order flow (availability, reserve, commit, release, the expiry sweep), built by
 * drizzle once and prepared (see fixedQuery): building them per call was most of the service's JS work
 * and short-lived garbage. Lists of ids go as one array parameter; what varies in shape (the items a
 * reservation inserts, the admin paths) is built per call.
 */
const Q = {
  products: fixedQuery("inventory_products", (db) =>
    db
      .select()
      .from(products)
      .where(sql`${products.id} = any(${sql.placeholder("ids")}::text[])`),
  ),
  productIds: fixedQuery("inventory_product_ids", (db) =>
    db
      .select({ id: products.id })
      .from(products)
      .where(sql`${products.id} = any(${sql.placeholder("ids")}::text[])`),
  ),
  createReservation: fixedQuery("inventory_reservation_create", (db) =>
    db
      .insert(reservations)
      .values({
        id: sql.placeholder("id"),
        orderId: sql.placeholder("orderId"),
        status: "active",
        expiresAt: sql`now() + make_interval(secs => ${sql.placeholder("ttlSeconds")})`,
      })
      .onConflictDoNothing()
      .returning(),
  ),
  take: fixedQuery("inventory_take", (db) =>
    db
      .update(products)
      .set({ reserved: sql`${products.reserved} + ${sql.placeholder("quantity")}`, updatedAt: sql`now()` })
      .where(
        and(
          eq(products.id, sql.placeholder("productId")),
          sql`${products.stock} - ${products.reserved} >= ${sql.placeholder("quantity")}`,
        ),
      )
      .returning({ id: products.id }),
  ),
  product: fixedQuery("inventory_product", (db) =>
    db
      .select()
      .from(products)
      .where(eq(products.id, sql.placeholder("id"))),
  ),
  lockReservation: fixedQuery("inventory_reservation_lock", (db) =>
    db
      .select({ ...reservationColumns(), overdue: sql<boolean>`${reservations.expiresAt} <= now()` })
      .from(reservations)
      .where(eq(reservations.id, sql.placeholder("id")))
      .for("update"),
  ),
  items: fixedQuery("inventory_reservation_items", (db) =>
    db
      .select()
      .from(reservationItems)
      .where(sql`${reservationItems.reservationId} = any(${sql.placeholder("ids")}::uuid[])`)
      .orderBy(asc(reservationItems.productId)),
  ),
  activeOf: fixedQuery("inventory_active_reservation_of", (db) =>
    db
      .select({ id: reservations.id })
      .from(reservations)
      .where(and(eq(reservations.orderId, sql.placeholder("orderId")), eq(reservations.status, "active"))),
  ),
  release: fixedQuery("inventory_reservation_release", (db) =>
    db
      .update(reservations)
      // A placeholder as a value: drizzle binds it as the column's parameter (encoded at execute); its types only admit values.
      .set({ status: "released", releaseReason: sql.placeholder("reason") as unknown as string, updatedAt: sql`now()` })
      .where(eq(reservations.id, sql.placeholder("id")))
      .returning(),
  ),
  setStatus: fixedQuery("inventory_reservation_status", (db) =>
    db
      .update(reservations)
      .set({ status: sql.placeholder("status") as unknown as "active", updatedAt: sql`now()` })
      .where(eq(reservations.id, sql.placeholder("id")))
      .returning(),
  ),
  overdue: fixedQuery("inventory_overdue", (db) =>
    db
      .select({ id: reservations.id })
      .from(reservations)
      .where(and(eq(reservations.status, "active"), lte(reservations.expiresAt, sql`now()`)))
      .orderBy(asc(reservations.expiresAt))
      .limit(sql.placeholder("limit"))
      .for("update", { skipLocked: true }),
  ),
  overdueOfOrder: fixedQuery("inventory_overdue_of_order", (db) =>
    db
      .select({ id: reservations.id })
      .from(reservations)
      .where(
        and(
          eq(reservations.status, "active"),
          lte(reservations.expiresAt, sql`now()`),
          eq(reservations.orderId, sql.placeholder("orderId")),
        ),
      )
      .orderBy(asc(reservations.expiresAt))
      .limit(sql.placeholder("limit"))
      .for("update", { skipLocked: true }),
  ),
  expire: fixedQuery("inventory_reservations_expire", (db) =>
    db
      .update(reservations)
      .set({ status: "expired", updatedAt: sql`now()` })
      .where(sql`${reservations.id} = any(${sql.placeholder("ids")}::uuid[])`)
      .returning(),
  ),
  giveBack: fixedQuery("inventory_give_back", (db) =>
    db
      .update(products)
      .set({ reserved: sql`${products.reserved} - ${sql.placeholder("quantity")}`, updatedAt: sql`now()` })
      .where(eq(products.id, sql.placeholder("productId"))),
  ),
  sell: fixedQuery("inventory_sell", (db) =>
    db
      .update(products)
      .set({
        reserved: sql`${products.reserved} - ${sql.placeholder("quantity")}`,
        stock: sql`${products.stock} - ${sql.placeholder("quantity")}`,
        updatedAt: sql`now()`,
      })
      .where(eq(products.id, sql.placeholder("productId"))),
  ),
};

export class PgInventoryStore implements InventoryStore {
  constructor(private readonly db: InventoryDatabase) {}

  async upsertProduct(p: NewProduct): Promise<ProductRecord> {
    // The WHERE of DO UPDATE runs on the locked existing row: a stock below what is reserved updates
    // nothing, which is the refusal, decided atomically with the write.
    const [saved] = await this.db
      .insert(products)
      .values(p)
      .onConflictDoUpdate({
        target: products.id,
        set: { name: p.name, priceMinor: p.priceMinor, currency: p.currency, stock: p.stock, updatedAt: sql`now()` },
        setWhere: sql`${products.reserved} <= ${p.stock}`,
      })
      .returning();
    if (saved) return toProduct(saved);
    const [current] = await this.db.select().from(products).where(eq(products.id, p.id));
    throw new InventoryError(
      "illegal_state",
      stockChangeProblem(p.id, p.stock, current?.reserved ?? 0) ?? `product ${p.id} changed while saving; try again`,
    );
  }

  async getProducts(ids: readonly string[]) {
    if (ids.length === 0) return new Map<string, ProductRecord>();
    const rows = await Q.products(this.db, { ids: arrayParameter(ids) });
    return new Map(rows.map((r) => [r.id, toProduct(r)]));
  }

  async listProducts(afterId: string, limit: number) {
    const rows = await this.db
      .select()
      .from(products)
      .where(gt(products.id, afterId))
      .orderBy(asc(products.id))
      .limit(limit);
    return rows.map(toProduct);
  }

  async reserve({
    orderId,
    items,
    ttlSeconds,
  }: {
    orderId: string;
    items: readonly ReservedItem[];
    ttlSeconds: number;
  }) {
    // An overdue reservation of this order that the sweeper has not reached yet is not live any more:
    // end it first (its own transaction, so its product locks are not mixed with the ones below).
    await this.expireOverdue({ limit: 1, orderId });
    const outcome = await this.db.transaction(async (tx) => {
      const known = new Set(
        (await Q.productIds(tx, { ids: arrayParameter(items.map((i) => i.productId)) })).map((r) => r.id),
      );
      const unknown = items.find((i) => !known.has(i.productId));
      if (unknown) throw new InventoryError("not_found", `product ${unknown.productId} not found`);

      // The reservation row goes first: the unique index on live reservations per order makes a second
      // ReserveItems for the same order wait here, holding no product lock, and then find the first one.
      const [created] = await Q.createReservation(tx, { id: crypto.randomUUID(), orderId, ttlSeconds });
      if (!created) {
        const existing = await liveReservationOf(tx, orderId);
        if (existing) return { reservation: existing, created: false };
        throw new InventoryError("conflict", `the reservation of order ${orderId} changed concurrently; retry`);
      }

      for (const { productId, quantity } of unitsByProduct(items)) {
        const taken = await Q.take(tx, { productId, quantity });
        if (taken.length === 0) {
          const [p] = await Q.product(tx, { id: productId });
          throw new InventoryError(
            "insufficient_stock",
            `not enough stock for product ${productId}: ${quantity} requested, ${available(toProduct(p))} available`,
          );
        }
      }
      await tx
        .insert(reservationItems)
        .values(items.map((i) => ({ reservationId: created.id, productId: i.productId, quantity: i.quantity })));
      return { reservation: toReservation(created, items), created: true };
    });
    return outcome;
  }

  async activeReservationOf(orderId: string) {
    const [row] = await Q.activeOf(this.db, { orderId });
    return row?.id;
  }

  async release(id: string, reason: string) {
    return this.db.transaction(async (tx) => {
      const row = await lockReservation(tx, id);
      const step = releaseStep(row);
      if (step.kind === "refuse") throw new InventoryError("illegal_state", step.reason);
      const items = await itemsOf(tx, [id]);
      if (step.kind === "unchanged") return toReservation(row, items.get(id) ?? []);
      const [released] = await Q.release(tx, { id, reason });
      await giveBack(tx, items.get(id) ?? [], { sold: false });
      return toReservation(released, items.get(id) ?? []);
    });
  }

  async commit(id: string) {
    const outcome = await this.db.transaction(async (tx) => {
      const row = await lockReservation(tx, id);
      const step = commitStep(row, row.overdue);
      if (step.kind === "refuse") throw new InventoryError("illegal_state", step.reason);
      const items = (await itemsOf(tx, [id])).get(id) ?? [];
      if (step.kind === "unchanged") return { reservation: toReservation(row, items) };
      const status = step.kind === "commit" ? "committed" : "expired";
      const [updated] = await Q.setStatus(tx, { id, status });
      await giveBack(tx, items, { sold: status === "committed" });
      if (status === "expired")
        await writeEvent(tx, ReservationExpired, { reservationId: id, orderId: updated.orderId }, { entityId: id });
      // The expiry must be kept, so the refusal is thrown only once the transaction committed.
      return {
        reservation: toReservation(updated, items),
        refusal: step.kind === "expire_and_refuse" ? step.reason : undefined,
      };
    });
    if (outcome.refusal) throw new InventoryError("illegal_state", outcome.refusal);
    return outcome.reservation;
  }

  async expireOverdue({ limit, orderId }: { limit: number; orderId?: string }) {
    return this.db.transaction(async (tx) => {
      const due =
        orderId === undefined ? await Q.overdue(tx, { limit }) : await Q.overdueOfOrder(tx, { limit, orderId });
      if (due.length === 0) return [];
      const ids = due.map((d) => d.id);
      const expired = await Q.expire(tx, { ids: arrayParameter(ids) });
      const items = await itemsOf(tx, ids);
      await giveBack(tx, [...items.values()].flat(), { sold: false });
      for (const r of expired)
        await writeEvent(tx, ReservationExpired, { reservationId: r.id, orderId: r.orderId }, { entityId: r.id });
      return expired.map((r) => toReservation(r, items.get(r.id) ?? []));
    });
  }
}

type ReservationRow = typeof reservations.$inferSelect;
type ProductRow = typeof products.$inferSelect;

const toProduct = (r: ProductRow): ProductRecord => ({
  id: r.id,
  name: r.name,
  priceMinor: r.priceMinor,
  currency: r.currency,
  stock: r.stock,
  reserved: r.reserved,
});

const toReservation = (r: ReservationRow, items: readonly ReservedItem[]): ReservationRecord => ({
  id: r.id,
  orderId: r.orderId,
  status: r.status,
  expiresAt: r.expiresAt,
  items: items.map((i) => ({ productId: i.productId, quantity: i.quantity })),
});

/** The reservation, row-locked for the rest of the transaction, and whether it is past its expiry (by the database's clock). */
async function lockReservation(tx: InventoryDatabase, id: string) {
  const [row] = await Q.lockReservation(tx, { id });
  if (!row) throw new InventoryError("not_found", `reservation ${id} not found`);
  return row;
}

function reservationColumns() {
  return {
    id: reservations.id,
    orderId: reservations.orderId,
    status: reservations.status,
    expiresAt: reservations.expiresAt,
    releaseReason: reservations.releaseReason,
    createdAt: reservations.createdAt,
    updatedAt: reservations.updatedAt,
  };
}

/** Each reservation's items, by product id. */
async function itemsOf(tx: InventoryDatabase, ids: string[]) {
  const rows = await Q.items(tx, { ids: arrayParameter(ids) });
  const byReservation = new Map<string, ReservedItem[]>();
  for (const r of rows)
    byReservation.set(r.reservationId, [
      ...(byReservation.get(r.reservationId) ?? []),
      { productId: r.productId, quantity: r.quantity },
    ]);
  return byReservation;
}

async function liveReservationOf(tx: InventoryDatabase, orderId: string) {
  const [row] = await tx
    .select()
    .from(reservations)
    .where(and(eq(reservations.orderId, orderId), inArray(reservations.status, ["active", "committed"])));
  if (!row) return undefined;
  return toReservation(row, (await itemsOf(tx, [row.id])).get(row.id) ?? []);
}

/** Units leave `reserved`; when sold they leave `stock` too. Products in id order (see the note above). */
async function giveBack(tx: InventoryDatabase, items: readonly ReservedItem[], { sold }: { sold: boolean }) {
  for (const { productId, quantity } of unitsByProduct(items)) {
    await (sold ? Q.sell : Q.giveBack)(tx, { productId, quantity });
  }
}
