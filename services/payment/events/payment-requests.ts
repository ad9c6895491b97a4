import { PaymentRequestedSchema } from "../../contracts/gen/shop/payment/v1/events_pb";
import { defineConsumer, on, PoisonMessage, writeEvent } from "../../kit/events";
import { rulesProblem } from "../../kit/validation";
import { PaymentFailed, PaymentProcessed, PaymentRequested, PAYMENTS } from "../contract/events";
import { PaymentProblem } from "../domain/payments";
import { processPayment, type ProcessPaymentDeps } from "../domain/process-payment";
import { chargeRequestOf } from "../domain/charge-request";

/**
 * Works off the charges the order service could not make synchronously (its payment fallback). The
 * charge goes through the same idempotent path as ProcessPayment, so a charge that did land earlier is
 * found, not repeated. The outcome is always announced (PaymentProcessed / PaymentFailed), even when the
 * payment existed already: the order may have missed the first announcement while it was not yet
 * waiting for one. On the `attempts`-th delivery a provider that is still unavailable declines the
 * charge for good (recorded under its key, so no later call charges it), and the order is released
 * rather than left waiting.
 */
export function paymentRequestsConsumer(deps: ProcessPaymentDeps, { attempts }: { attempts: number }) {
  return defineConsumer({
    name: "payment-requests",
    stream: PAYMENTS,
    handlers: [
      on(
        PaymentRequested,
        async (e, ctx) => {
          let payment;
          try {
            payment = await processPayment(
              deps,
              chargeRequestOf(e),
              AbortSignal.timeout(deps.providerTimeoutMs + deps.pendingWaitMs),
              {
                giveUp: ctx.deliveryCount >= attempts ? `provider unavailable after ${attempts} attempts` : undefined,
              },
            );
          } catch (err) {
            if (!(err instanceof PaymentProblem)) throw err;
            if (err.kind === "conflict") throw new PoisonMessage(err.message);
            if (err.kind === "already_paid") return; // another key charged this order; its outcome was announced then
            throw err; // in progress, claim lost, provider unavailable: later
          }
          const amount = { amountMinor: payment.amountMinor, currency: payment.currency };
          if (payment.state === "declined")
            await writeEvent(
              ctx.tx,
              PaymentFailed,
              { orderId: payment.orderId, paymentId: payment.id, reason: payment.declineReason },
              { entityId: payment.id },
            );
          else
            await writeEvent(
              ctx.tx,
              PaymentProcessed,
              { orderId: payment.orderId, paymentId: payment.id, amount },
              { entityId: payment.id },
            );
        },
        // The charge runs its own claim/settle transactions and is idempotent on its key; the outcome
        // announcement may go out twice after a crash, which its consumers shrug off.
        // A command that breaks its rules in events.proto (ProcessPaymentRequest's) is poison.
        { validate: (e) => rulesProblem(PaymentRequestedSchema, e), ownTransactions: true },
      ),
    ],
  });
}
