import { PaymentFailed, PaymentProcessed } from "../../kit/events/event-types";
import { defineConsumer, on } from "../../kit/events/event-consumer";
import { completeCaptured, fail } from "../saga/confirm-order";
import { withOrderLease, type SagaDependencies } from "../saga/dependencies";

/**
 * Finishes orders that waited PAYMENT_PENDING for an asynchronous charge: a processed payment confirms
 * the order (or is refunded when the reservation ran out meanwhile), a failed one releases the stock.
 * Outcomes of charges made synchronously find the order already past PAYMENT_PENDING and change nothing.
 * A busy order (another step holds its lease) or an unreachable inventory is retried later. The saga
 * steps call inventory and write in transactions of their own, and are idempotent by the order's state.
 */
export function paymentOutcomesConsumer(deps: SagaDependencies) {
  const settle = async (orderId: string, outcome: { paymentId: string } & ({ captured: true } | { captured: false; reason: string })) => {
    // Most outcomes are of charges made synchronously: the order is past PAYMENT_PENDING, and its state is all there is to read.
    if ((await deps.store.state(orderId)) !== "payment_pending") return;
    await withOrderLease(deps, orderId, async (current) => {
      if (current.state !== "payment_pending") return;
      if (outcome.captured) await completeCaptured(deps, current, outcome.paymentId);
      else await fail(deps, current, outcome.reason, outcome.paymentId);
    });
  };
  return defineConsumer({
    name: "order-payment-outcomes",
    stream: "PAYMENTS",
    handlers: [
      on(PaymentProcessed, (e) => settle(e.orderId, { captured: true, paymentId: e.paymentId }), { validate: (e) => (e.orderId && e.paymentId ? undefined : "order_id and payment_id are required"), ownTransactions: true }),
      on(PaymentFailed, (e) => settle(e.orderId, { captured: false, paymentId: e.paymentId, reason: e.reason || "payment failed" }), { validate: (e) => (e.orderId ? undefined : "order_id is required"), ownTransactions: true }),
    ],
  });
}
