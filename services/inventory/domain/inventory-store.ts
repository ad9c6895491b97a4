import type { NewProduct, ProductRecord } from "./products";
import type { ReservationRecord, ReservedItem } from "./reservations";

/**
 * Where products and reservations live: Postgres (db/inventory-store.ts). Methods throw InventoryError
 * for refusals the caller must see; anything else is a fault.
 */
export interface InventoryStore {
  /** Creates or replaces a product's name, price and stock; refuses (illegal_state) a stock below what is reserved. */
  upsertProduct(p: NewProduct): Promise<ProductRecord>;
  getProducts(ids: readonly string[]): Promise<Map<string, ProductRecord>>;
  /** Products ordered by id, starting after `afterId`. */
  listProducts(afterId: string, limit: number): Promise<ProductRecord[]>;
  /**
   * Reserves every item or none, for `ttlSeconds`. When the order already has a live (active or
   * committed) reservation, returns that one instead (created: false). Throws not_found for an unknown
   * product and insufficient_stock when any item cannot be covered.
   */
  reserve(req: {
    orderId: string;
    items: readonly ReservedItem[];
    ttlSeconds: number;
  }): Promise<{ reservation: ReservationRecord; created: boolean }>;
  /** The id of the order's ACTIVE reservation, if it has one. */
  activeReservationOf(orderId: string): Promise<string | undefined>;
  /** ACTIVE → RELEASED, units back; see releaseStep. Throws not_found, illegal_state. */
  release(id: string, reason: string): Promise<ReservationRecord>;
  /** ACTIVE → COMMITTED, units sold; see commitStep. Throws not_found, illegal_state. */
  commit(id: string): Promise<ReservationRecord>;
  /** Expires up to `limit` ACTIVE reservations past their expiry (only `orderId`'s when given); returns them. */
  expireOverdue(opts: { limit: number; orderId?: string }): Promise<ReservationRecord[]>;
}
