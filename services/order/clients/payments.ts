import { Code, ConnectError, type Client } from "@connectrpc/connect";
import { PaymentStatus, type PaymentService } from "../../contracts/gen/shop/payment/v1/payment_service_pb";
import type { Payments, PaymentView } from "../app/ports";
import { stepOutcome } from "./step-outcome";

/** How the saga sees a payment's status; any other status is "other". */
const STATE_BY_STATUS: Partial<Record<PaymentStatus, PaymentView["state"]>> = {
  [PaymentStatus.CAPTURED]: "captured",
  [PaymentStatus.DECLINED]: "declined",
  [PaymentStatus.REFUNDED]: "refunded",
};

/** The Payments port over the payment service's Connect client (found through NATS, policy-wrapped). */
export function paymentsPort(client: Client<typeof PaymentService>): Payments {
  return {
    lookup: (paymentId, { timeoutMs }) =>
      stepOutcome("payment", async () => {
        try {
          const { payment } = await client.getPaymentStatus({ paymentId }, { timeoutMs });
          if (!payment) return undefined;
          return {
            id: payment.id,
            orderId: payment.orderId,
            state: STATE_BY_STATUS[payment.status] ?? "other",
            amountMinor: payment.amount?.amountMinor ?? 0n,
            currency: payment.amount?.currency ?? "",
          };
        } catch (e) {
          if (ConnectError.from(e).code === Code.NotFound) return undefined;
          throw e;
        }
      }),
    charge: ({ orderId, amountMinor, currency, cardToken, idempotencyKey }, { timeoutMs }) =>
      stepOutcome("payment", async () => {
        const { payment } = await client.processPayment(
          { orderId, amount: { amountMinor, currency }, cardToken, idempotencyKey },
          { timeoutMs },
        );
        if (!payment) throw new Error("payment answered without a payment");
        return payment.status === PaymentStatus.CAPTURED
          ? { captured: true as const, paymentId: payment.id }
          : { captured: false as const, paymentId: payment.id, reason: payment.declineReason || "payment declined" };
      }),
    refund: (paymentId, reason, { timeoutMs }) =>
      stepOutcome("payment", async () => void (await client.refundPayment({ paymentId, reason }, { timeoutMs }))),
  };
}
