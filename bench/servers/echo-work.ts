import { Code, ConnectError } from "@connectrpc/connect";
import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  PaymentStatus,
  type GetPaymentStatusResponseSchema,
} from "../../services/contracts/gen/shop/payment/v1/payment_service_pb";

/**
 * The work every RPC variant does for one call, the same in each: a small payment-like answer built
 * from the request (the protobuf decoding and encoding around it is each stack's own).
 * A payment id starting with "fail" answers Unavailable (the policy bench opens the breaker with it).
 */
export function paymentStatus(paymentId: string): MessageInitShape<typeof GetPaymentStatusResponseSchema> {
  if (paymentId.startsWith("fail")) throw new ConnectError("bench: failing on purpose", Code.Unavailable);
  return {
    payment: {
      id: paymentId,
      orderId: "6f1c2a1e-8a53-4f0e-9d49-1b2d6f3a9c10",
      amount: { amountMinor: 1999n, currency: "EUR" },
      status: PaymentStatus.CAPTURED,
      idempotencyKey: "order-6f1c2a1e-8a53-4f0e-9d49-1b2d6f3a9c10",
    },
  };
}

/** The same answer as a plain object (Moleculer serializes JSON). */
export function paymentStatusPlain(paymentId: string) {
  return {
    payment: {
      id: paymentId,
      orderId: "6f1c2a1e-8a53-4f0e-9d49-1b2d6f3a9c10",
      amount: { amountMinor: "1999", currency: "EUR" },
      status: "PAYMENT_STATUS_CAPTURED",
      idempotencyKey: "order-6f1c2a1e-8a53-4f0e-9d49-1b2d6f3a9c10",
    },
  };
}
