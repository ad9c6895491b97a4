import { Code, ConnectError } from "@connectrpc/connect";

// A customer sees only their own orders. Someone else's order is answered exactly like an order that
// does not exist (NotFound), so order ids cannot be probed; the customer id of a list or a new order
// is checked openly (PermissionDenied), since the caller already knows whose id they sent.

/** The customer id a new order is placed for: the caller's own, filled in when omitted. */
export function orderCustomerId(callerId: string, requested: string): string {
  if (requested === "" || requested === callerId) return callerId;
  throw new ConnectError("customer_id must be your own customer id", Code.PermissionDenied);
}

/** A customer may list only their own orders. */
export function checkListOwner(callerId: string, requested: string): void {
  if (requested !== callerId) throw new ConnectError("you may list only your own orders", Code.PermissionDenied);
}

/** An order that is not the caller's is reported as not found. */
export function checkOrderOwner(callerId: string, orderId: string, order: { customerId: string } | undefined): void {
  if (!order || order.customerId !== callerId) throw new ConnectError(`order ${orderId} not found`, Code.NotFound);
}
