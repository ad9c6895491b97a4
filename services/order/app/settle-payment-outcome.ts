import { afterPaymentOutcome, type ChargeResult } from "../domain/saga";
import { driveSaga, type SagaDeps } from "./drive-saga";
import { withOrderLease } from "./order-lease";

/**
 * The outcome of a charge made by payment's asynchronous path (PaymentProcessed / PaymentFailed) moves
 * an order that waits PAYMENT_PENDING on: captured → commit and confirm (or refund when the reservation
 * ran out), failed → release and PAYMENT_FAILED. Outcomes of charges made synchronously find the order
 * past PAYMENT_PENDING and change nothing. Rejects (retry later) when another request holds the order.
 */
export async function settlePaymentOutcome(deps: SagaDeps, orderId: string, outcome: ChargeResult): Promise<void> {
  // Most outcomes are of charges made synchronously: the order is past PAYMENT_PENDING already.
  if ((await deps.orders.find(orderId))?.state !== "payment_pending") return;
  await withOrderLease(deps.orders, orderId, deps.leaseMs, async (order, lease) => {
    if (order.state !== "payment_pending") return;
    const decision = afterPaymentOutcome(outcome);
    const settled = await deps.orders.record(orderId, decision.record!, { lease, leaseMs: deps.leaseMs });
    await driveSaga(deps, settled, { lease });
  });
}
