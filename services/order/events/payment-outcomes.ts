import { PaymentFailed, PaymentProcessed, PAYMENTS } from "../../payment/contract/events";
import { defineConsumer, on, PoisonMessage } from "../../kit/events";
import { isUuid } from "../../kit";
import type { SagaDeps } from "../app/drive-saga";
import { settlePaymentOutcome } from "../app/settle-payment-outcome";
import type { ChargeResult } from "../domain/saga";
import { OrderRefusal } from "../domain/refusal";

const orderIdProblem = (orderId: string) => (isUuid(orderId) ? undefined : "order_id must be an order's id (a UUID)");

/**
 * Finishes orders that waited PAYMENT_PENDING for payment's asynchronous charge: a processed payment
 * confirms the order (or is refunded when the reservation ran out meanwhile), a failed one gives the
 * stock back. The saga's steps call inventory and payment and record in transactions of their own, and
 * are idempotent by the order's recorded state. A busy order or an unavailable service is retried later.
 */
export function paymentOutcomesConsumer(deps: SagaDeps) {
  const settle = async (orderId: string, outcome: ChargeResult) => {
    try {
      await settlePaymentOutcome(deps, orderId, outcome);
    } catch (e) {
      // No such order (an outcome of something this service never asked about), or one payment does not
      // confirm: it will not come right later.
      if (e instanceof OrderRefusal && (e.kind === "not_found" || e.kind === "invalid"))
        throw new PoisonMessage(e.message);
      throw e;
    }
  };
  return defineConsumer({
    name: "order-payment-outcomes",
    stream: PAYMENTS,
    handlers: [
      on(PaymentProcessed, (e) => settle(e.orderId, { captured: true, paymentId: e.paymentId }), {
        validate: (e) => orderIdProblem(e.orderId) ?? (e.paymentId ? undefined : "payment_id is required"),
        ownTransactions: true,
      }),
      on(
        PaymentFailed,
        (e) => settle(e.orderId, { captured: false, paymentId: e.paymentId, reason: e.reason || "payment failed" }),
        {
          validate: (e) => orderIdProblem(e.orderId),
          ownTransactions: true,
        },
      ),
    ],
  });
}
