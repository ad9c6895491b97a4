import type { OrderRecord, OrderState } from "./order";

/**
 * What an order's state change announces to other services. Only arrivals are events: an order placed,
 * confirmed, whose payment failed, or cancelled; the steps between (reserving, reserved, paid,
 * payment_pending) stay inside the order service.
 */
export type OrderAnnouncement =
  | { kind: "created" }
  | { kind: "confirmed" }
  | { kind: "payment_failed"; reason: string }
  /** `refunded`: a captured payment was given back. `previousState`: where it was cancelled from (was its total spent?). */
  | { kind: "cancelled"; reason: string; refunded: boolean; previousState: OrderState };

/** The announcement of `to`, reached from `from` (undefined for a new order); undefined when there is none. */
export function announcement(
  from: OrderState | undefined,
  to: Pick<OrderRecord, "state" | "stateReason" | "refunded">,
): OrderAnnouncement | undefined {
  if (from === undefined) return { kind: "created" };
  if (from === to.state) return undefined;
  switch (to.state) {
    case "confirmed":
      return { kind: "confirmed" };
    case "payment_failed":
      return { kind: "payment_failed", reason: to.stateReason };
    case "cancelled":
      return { kind: "cancelled", reason: to.stateReason, refunded: to.refunded, previousState: from };
    default:
      return undefined;
  }
}
