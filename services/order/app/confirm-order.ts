import type { Order } from "../domain/order";
import { confirmAdmission } from "../domain/order-rules";
import { OrderRefusal } from "../domain/refusal";
import { timeForAStep, type SagaDeps } from "./drive-saga";
import { moveOrder } from "./move-order";

/**
 * ConfirmOrder: record that the order is to be confirmed (with the card token, so anyone can finish it),
 * then reserve → charge → commit, within the caller's deadline. Answers the order as it then is:
 * CONFIRMED, PAYMENT_FAILED (declined: stock given back), CANCELLED (the reservation ran out while the
 * charge landed: refunded), or PAYMENT_PENDING when the charge could not be finished now (payment
 * unavailable, its outcome unknown, no time left): the saga then finishes without the caller, by
 * payment's asynchronous path or the recovery worker. A confirm that got nowhere near payment (out of
 * stock, inventory unavailable) is refused, and the order is back PENDING with nothing held. The id and
 * token were checked against ConfirmOrderRequest's rules (order_service.proto) before this runs.
 */
export async function confirmOrder(
  deps: SagaDeps,
  orderId: string,
  cardToken: string,
  { deadline }: { deadline?: number } = {},
): Promise<Order> {
  if (!timeForAStep(deadline, (deps.now ?? Date.now)()))
    throw new OrderRefusal("deadline", "the caller's deadline leaves no time to confirm the order");

  return moveOrder(deps, orderId, {
    verb: "confirm",
    admission: confirmAdmission,
    change: (order) => ({
      state: order.state === "pending" ? "reserving" : order.state,
      target: "confirmed",
      cardToken,
      stateReason: "",
    }),
    deadline,
    ended: (driven) => {
      if (driven.end === "refused") throw new OrderRefusal("out_of_stock", driven.reason!);
      // Nothing reached payment: the caller hears why; the order is (or is being put) back PENDING.
      const before = driven.order.state === "pending" || driven.order.state === "reserving";
      if (before)
        throw new OrderRefusal(
          "unavailable",
          `order ${orderId} was not confirmed: ${driven.reason ?? driven.order.stateReason}`,
        );
    },
  });
}
