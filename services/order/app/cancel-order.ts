import type { Order } from "../domain/order";
import { cancelAdmission } from "../domain/order-rules";
import { OrderRefusal } from "../domain/refusal";
import type { SagaDeps } from "./drive-saga";
import { moveOrder } from "./move-order";

/**
 * CancelOrder: record that the order is to be cancelled, then give back what it holds (refund a capture,
 * release a reservation) and mark it CANCELLED. What cannot be given back now (payment or inventory
 * unavailable) is given back by the recovery worker; the caller hears that and may retry. The id and
 * reason were checked against CancelOrderRequest's rules (order_service.proto) before this runs.
 */
export async function cancelOrder(
  deps: SagaDeps,
  orderId: string,
  reason: string,
  { deadline }: { deadline?: number } = {},
): Promise<Order> {
  return moveOrder(deps, orderId, {
    verb: "cancel",
    admission: cancelAdmission,
    change: () => ({ target: "cancelled", stateReason: reason || "cancelled by request" }),
    deadline,
    ended: (driven) => {
      if (driven.end === "retry")
        throw new OrderRefusal(
          "unavailable",
          `order ${orderId} is being cancelled; what it holds is given back as soon as possible (${driven.reason})`,
        );
    },
  });
}
