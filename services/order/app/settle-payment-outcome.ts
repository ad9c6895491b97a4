import { afterPaymentOutcome, type ChargeResult } from "../domain/saga";
import type { OrderRecord } from "../domain/order";
import { OrderRefusal } from "../domain/refusal";
import { driveSaga, type SagaDeps } from "./drive-saga";
import { withOrderLease } from "./order-lease";

/**
 * The outcome of a charge made by payment's asynchronous path (PaymentProcessed / PaymentFailed) moves
 * an order that waits PAYMENT_PENDING on: captured → commit and confirm (or refund when the reservation
 * ran out), failed → release and PAYMENT_FAILED. Outcomes of charges made synchronously find the order
 * past PAYMENT_PENDING and change nothing. Rejects (retry later) when another request holds the order.
 *
 * An event is a claim, not a fact: before an outcome that moves money or stock is acted on, payment is
 * asked whether it stands (that payment, for this order, for its total, in that state). One it does not
 * confirm is refused as `invalid` (a forgery or a bug: a dead letter); one that cannot be checked now
 * waits for a retry; a failure without a payment id cannot be checked at all and is left to the
 * recovery worker, which asks payment by the order's key.
 */
export async function settlePaymentOutcome(deps: SagaDeps, orderId: string, outcome: ChargeResult): Promise<void> {
  // Most outcomes are of charges made synchronously: the order is past PAYMENT_PENDING already.
  if ((await deps.orders.find(orderId))?.state !== "payment_pending") return;
  await withOrderLease(deps.orders, orderId, deps.leaseMs, async (order, lease) => {
    if (order.state !== "payment_pending") return;
    if (!outcome.paymentId) {
      deps.log.warn(
        { orderId },
        "a payment failure without a payment id cannot be checked; the recovery worker asks payment for the order",
      );
      return;
    }
    await confirmWithPayment(deps, order, outcome);
    const decision = afterPaymentOutcome(outcome);
    const settled = await deps.orders.record(orderId, decision.record!, { lease, leaseMs: deps.leaseMs });
    await driveSaga(deps, settled, { lease });
  });
}

async function confirmWithPayment(deps: SagaDeps, order: OrderRecord, outcome: ChargeResult): Promise<void> {
  const seen = await deps.payments.lookup(outcome.paymentId, { timeoutMs: deps.stepTimeoutMs });
  if (seen.kind === "unavailable")
    throw new OrderRefusal("unavailable", `cannot check payment ${outcome.paymentId} with payment: ${seen.reason}`);
  if (seen.kind === "refused")
    throw new OrderRefusal("invalid", `payment refused to show payment ${outcome.paymentId}: ${seen.reason}`);
  const p = seen.value;
  const claimed = outcome.captured ? "captured" : "declined";
  const why = !p
    ? "payment knows no such payment"
    : p.orderId !== order.id
      ? `it is for order ${p.orderId}`
      : p.state !== claimed
        ? `it is ${p.state}, not ${claimed}`
        : outcome.captured && (p.amountMinor !== order.totalMinor || p.currency !== order.currency)
          ? `it is for ${p.amountMinor} ${p.currency}, the order's total is ${order.totalMinor} ${order.currency}`
          : undefined;
  if (why)
    throw new OrderRefusal(
      "invalid",
      `payment ${outcome.paymentId} does not confirm the outcome announced for order ${order.id}: ${why}`,
    );
}
