import { productIdProblem } from "./products";

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

/** Most units of one product a single reservation (or availability check) may ask for. */
export const MAX_QUANTITY = 1000;
/** Most distinct products in one request. */
export const MAX_ITEMS = 100;
/** Longest a reservation may hold stock; longer would let abandoned orders starve the shop. */
export const MAX_TTL_SECONDS = 3600;

/** Order ids come from the order service; as with payments, any short id of letters, digits, '-', '_'. */
const ORDER_ID = /^[\w-]{1,64}$/;

/** What is wrong with a list of items (CheckAvailability, ReserveItems), naming the proto field, or undefined. */
export function itemsProblem(items: readonly ReservedItem[]): string | undefined {
  if (items.length === 0) return "items must not be empty";
  if (items.length > MAX_ITEMS) return `items must hold at most ${MAX_ITEMS} products, got ${items.length}`;
  const seen = new Map<string, number>();
  for (const [i, it] of items.entries()) {
    const idProblem = productIdProblem(`items[${i}].product_id`, it.productId);
    if (idProblem) return idProblem;
    if (it.quantity <= 0) return `items[${i}].quantity must be positive`;
    if (it.quantity > MAX_QUANTITY) return `items[${i}].quantity must be at most ${MAX_QUANTITY}`;
    const first = seen.get(it.productId);
    if (first !== undefined)
      return `items[${i}].product_id "${it.productId}" repeats items[${first}]; give each product once`;
    seen.set(it.productId, i);
  }
  return undefined;
}

/** What is wrong with an order id field, or undefined. */
export function orderIdProblem(orderId: string): string | undefined {
  if (!orderId) return "order_id is required";
  if (!ORDER_ID.test(orderId)) return "order_id must be 1-64 letters, digits, '-' or '_'";
  return undefined;
}

/** What is wrong with a ReserveItems request, or undefined. */
export function reserveProblem(req: {
  orderId: string;
  items: readonly ReservedItem[];
  ttlSeconds: number;
}): string | undefined {
  const problem = orderIdProblem(req.orderId);
  if (problem) return problem;
  if (req.ttlSeconds < 0) return "ttl_seconds must not be negative";
  if (req.ttlSeconds > MAX_TTL_SECONDS) return `ttl_seconds must be at most ${MAX_TTL_SECONDS}`;
  return itemsProblem(req.items);
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
