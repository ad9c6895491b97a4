/**
 * Why the inventory refused a request, in domain terms; the RPC edge maps each kind to a Connect code
 * (not_found → NotFound, insufficient_stock and illegal_state → FailedPrecondition, conflict → Aborted:
 * a concurrent change the caller may simply retry).
 */
export type InventoryErrorKind = "not_found" | "insufficient_stock" | "illegal_state" | "conflict";

export class InventoryError extends Error {
  constructor(
    readonly kind: InventoryErrorKind,
    message: string,
  ) {
    super(message);
    this.name = "InventoryError";
  }
}
