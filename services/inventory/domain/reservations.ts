export type ReservationState = "active" | "committed" | "released" | "expired";

export interface ReservedItem {
  productId: string;
  quantity: number;
}

export interface ReservationRecord {
  id: string;
  orderId: string;
  status: ReservationState;
  expiresAt: Date;
  items: ReservedItem[];
}

/**
 * Longest a reservation may hold stock; longer would let abandoned orders starve the shop. The same
 * bound is ReserveItemsRequest.ttl_seconds' rule in inventory_service.proto; this one bounds the default.
 */
export const MAX_TTL_SECONDS = 3600;

/**
 * A product named twice in one request (CheckAvailability, ReserveItems), naming the repeat, or
 * undefined. The fields' own rules (ids, quantities, how many items) are the protos'; this one compares
 * items with each other and names the index, which a rule of the proto cannot.
 */
export function repeatedProductProblem(items: readonly ReservedItem[]): string | undefined {
  const seen = new Map<string, number>();
  for (const [i, it] of items.entries()) {
    const first = seen.get(it.productId);
    if (first !== undefined)
      return `items[${i}].product_id "${it.productId}" repeats items[${first}]; give each product once`;
    seen.set(it.productId, i);
  }
  return undefined;
}

/** The hold time a request gets: its own, or the server's default when it asks for 0. */
export const resolveTtlSeconds = (requested: number, fallback: number) => (requested === 0 ? fallback : requested);

/**
 * What ReleaseReservation does with a reservation in `status`: release it, hand it back unchanged
 * (releasing is idempotent, and a released or expired one already gave its units back), or refuse.
 */
export type ReleaseStep = { kind: "release" } | { kind: "unchanged" } | { kind: "refuse"; reason: string };

export function releaseStep(r: Pick<ReservationRecord, "id" | "status">): ReleaseStep {
  switch (r.status) {
    case "active":
      return { kind: "release" };
    case "released":
    case "expired":
      return { kind: "unchanged" };
    case "committed":
      return { kind: "refuse", reason: `reservation ${r.id} is committed: its units are sold and cannot be released` };
  }
}

/**
 * What CommitReservation does: commit an active one in time, hand back a committed one (idempotent),
 * or refuse. An active one past its expiry is expired on the spot (its units go back) and refused.
 */
export type CommitStep =
  | { kind: "commit" }
  | { kind: "unchanged" }
  | { kind: "expire_and_refuse"; reason: string }
  | { kind: "refuse"; reason: string };

export function commitStep(r: Pick<ReservationRecord, "id" | "status">, overdue: boolean): CommitStep {
  switch (r.status) {
    case "active":
      return overdue
        ? { kind: "expire_and_refuse", reason: `reservation ${r.id} expired before it was committed` }
        : { kind: "commit" };
    case "committed":
      return { kind: "unchanged" };
    case "released":
    case "expired":
      return {
        kind: "refuse",
        reason: `reservation ${r.id} is ${r.status}; only an active reservation can be committed`,
      };
  }
}

/**
 * Per product, the units a set of reservations holds, in product id order. Every transaction that
 * locks several product rows takes them in this order, so two of them can never wait on each other.
 */
export function unitsByProduct(items: readonly ReservedItem[]): ReservedItem[] {
  const sums = new Map<string, number>();
  for (const it of items) sums.set(it.productId, (sums.get(it.productId) ?? 0) + it.quantity);
  return [...sums]
    .map(([productId, quantity]) => ({ productId, quantity }))
    .sort((a, b) => (a.productId < b.productId ? -1 : a.productId > b.productId ? 1 : 0));
}
