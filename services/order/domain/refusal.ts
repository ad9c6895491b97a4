/**
 * Why the order service refuses a request, by kind. The RPC edge maps each kind to a status code in
 * one table (rpc/order-service.ts); nothing below it knows about codes.
 */
export type RefusalKind =
  /** The request itself is wrong (a field missing, malformed, out of range). */
  | "invalid"
  /** The order, customer or product it names does not exist. */
  | "not_found"
  /** Not in the order's current state (confirm a cancelled order, cancel while the payment is pending). */
  | "not_allowed"
  /** Not enough stock for the order. */
  | "out_of_stock"
  /** Another request is working on the order right now: retry. */
  | "busy"
  /** A service the step needs cannot be used now; what is recorded stays consistent: retry later. */
  | "unavailable"
  /** The caller's deadline leaves no time for the step. */
  | "deadline";

export class OrderRefusal extends Error {
  constructor(
    readonly kind: RefusalKind,
    message: string,
  ) {
    super(message);
    this.name = "OrderRefusal";
  }
}
