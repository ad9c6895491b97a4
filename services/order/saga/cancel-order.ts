import { Code, ConnectError } from "@connectrpc/connect";
import { isUuid } from "../../kit/ids";
import type { StoredOrder } from "../db/order-store";
import { cancelStep } from "../domain/order-rules";
import { remoteError, withOrderLease, type SagaDependencies } from "./dependencies";

/** CancelOrder compensates what the order holds: refund if paid, release if reserved. */
export async function cancelOrder(deps: SagaDependencies, orderId: string, reason: string): Promise<StoredOrder> {
  if (!orderId) throw new ConnectError("order_id is required", Code.InvalidArgument);
  if (!isUuid(orderId)) throw new ConnectError("order_id must be a UUID", Code.InvalidArgument);
  if (reason.length > 500) throw new ConnectError("reason must be at most 500 characters", Code.InvalidArgument);
  const why = reason || "cancelled by request";

  await withOrderLease(deps, orderId, async (order) => {
    const step = cancelStep(order.state);
    if (typeof step === "object") throw new ConnectError(`cannot cancel order ${orderId}: ${step.refuse}`, Code.FailedPrecondition);
    if (step === "done") return;
    try {
      if (step === "release") await deps.inventory.releaseReservation({ reservationId: order.reservationId, reason: why });
      if (step === "refund") await deps.payment.refundPayment({ paymentId: order.paymentId, reason: why });
    } catch (e) {
      throw remoteError(step === "refund" ? "payment" : "inventory", e);
    }
    await deps.store.transition(orderId, "cancelled", { stateReason: why });
  });
  return (await deps.store.get(orderId))!;
}
