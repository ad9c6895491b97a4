import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import {
  PaymentSchema,
  PaymentService,
  PaymentStatus,
  type Payment,
} from "../../contracts/gen/shop/payment/v1/payment_service_pb";
import { isUuid, type Logger } from "../../kit";
import { PaymentProblem, type PaymentRecord, type PaymentStore } from "../domain/payments";
import { processPayment, type ProcessPaymentDeps } from "../domain/process-payment";
import { refundPayment } from "../domain/refund-payment";
import { chargeRequestOf } from "../domain/charge-request";

const CODES: Record<PaymentProblem["kind"], Code> = {
  conflict: Code.FailedPrecondition,
  already_paid: Code.FailedPrecondition,
  not_refundable: Code.FailedPrecondition,
  not_found: Code.NotFound,
  // Retryable: the racing call or the provider may be done on the next try.
  in_progress: Code.Aborted,
  claim_lost: Code.Aborted,
  provider_unavailable: Code.Unavailable,
};

/**
 * PaymentService: hand over to the payment rules, map their refusals to status codes. Requests arrive
 * checked against their rules in payment_service.proto (the kit's validate interceptor).
 */
export function paymentRoutes(deps: ProcessPaymentDeps, log: Logger) {
  const asConnectError = (e: unknown): never => {
    if (!(e instanceof PaymentProblem)) throw e;
    if (e.kind === "claim_lost") log.error({ err: e }, "a pending claim expired while its provider call ran");
    throw new ConnectError(e.message, CODES[e.kind]);
  };
  return (router: ConnectRouter) =>
    router.service(PaymentService, {
      async processPayment(req, ctx) {
        const payment = await processPayment(deps, chargeRequestOf(req), ctx.signal).catch(asConnectError);
        return { payment: toProto(payment) };
      },

      async refundPayment(req) {
        if (!isUuid(req.paymentId)) throw notFound(req.paymentId);
        return { payment: toProto(await refundPayment(deps.store, req.paymentId, req.reason).catch(asConnectError)) };
      },

      async getPaymentStatus(req) {
        const found = isUuid(req.paymentId) ? await deps.store.get(req.paymentId) : undefined;
        if (!found) throw notFound(req.paymentId);
        return { payment: toProto(found) };
      },
    });
}

/** Payment ids are UUIDs; any other well-formed id names no payment. */
const notFound = (id: string) => new ConnectError(`payment ${id} not found`, Code.NotFound);

const STATUS = {
  pending: PaymentStatus.UNSPECIFIED,
  captured: PaymentStatus.CAPTURED,
  declined: PaymentStatus.DECLINED,
  refunded: PaymentStatus.REFUNDED,
};

function toProto(p: PaymentRecord): Payment {
  return create(PaymentSchema, {
    id: p.id,
    orderId: p.orderId,
    amount: { amountMinor: p.amountMinor, currency: p.currency },
    status: STATUS[p.state],
    declineReason: p.declineReason,
    idempotencyKey: p.idempotencyKey,
    createdAt: timestampFromDate(p.createdAt),
    updatedAt: timestampFromDate(p.updatedAt),
  });
}
