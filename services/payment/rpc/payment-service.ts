import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import {
  PaymentSchema,
  PaymentService,
  PaymentStatus,
  type Payment,
} from "../../contracts/gen/shop/payment/v1/payment_service_pb";
import { moneyProblem } from "../../kit/money";
import { refundProblem, type PaymentRecord, type PaymentStore } from "../domain/payments";
import { providerOutcome } from "../domain/provider";

const ID = /^[\w-]{1,64}$/;

function invalid(message: string): never {
  throw new ConnectError(message, Code.InvalidArgument);
}

function requireId(field: string, value: string): void {
  if (!value) invalid(`${field} is required`);
  if (!ID.test(value)) invalid(`${field} must be 1-64 letters, digits, '-' or '_'`);
}

/** PaymentService: thin handlers that validate, ask the provider, and keep the result. */
export function paymentRoutes(store: PaymentStore, sleep = (ms: number, signal: AbortSignal) => Bun.sleep(ms).then(() => signal.throwIfAborted())) {
  return (router: ConnectRouter) =>
    router.service(PaymentService, {
      async processPayment(req, ctx) {
        requireId("order_id", req.orderId);
        requireId("idempotency_key", req.idempotencyKey);
        if (!req.cardToken) invalid("card_token is required");
        const problem = moneyProblem("amount", req.amount);
        if (problem) invalid(problem);

        const outcome = providerOutcome(req.cardToken);
        if (outcome.kind === "transient") throw new ConnectError(outcome.reason, Code.Unavailable);
        if (outcome.kind === "captured" && outcome.delayMs) await sleep(outcome.delayMs, ctx.signal);
        const now = new Date();
        const { record } = await store.insertOnce({
          id: crypto.randomUUID(),
          orderId: req.orderId,
          amount: req.amount!,
          state: outcome.kind === "captured" ? "captured" : "declined",
          declineReason: outcome.kind === "declined" ? outcome.reason : "",
          idempotencyKey: req.idempotencyKey,
          createdAt: now,
          updatedAt: now,
        });
        return { payment: toProto(record) };
      },

      async refundPayment(req) {
        requireId("payment_id", req.paymentId);
        const found = await store.get(req.paymentId);
        if (!found) throw new ConnectError(`payment ${req.paymentId} not found`, Code.NotFound);
        const problem = refundProblem(found);
        if (problem) throw new ConnectError(problem, Code.FailedPrecondition);
        return { payment: toProto((await store.refund(found.id, new Date()))!) };
      },

      async getPaymentStatus(req) {
        requireId("payment_id", req.paymentId);
        const found = await store.get(req.paymentId);
        if (!found) throw new ConnectError(`payment ${req.paymentId} not found`, Code.NotFound);
        return { payment: toProto(found) };
      },
    });
}

const STATUS = { captured: PaymentStatus.CAPTURED, declined: PaymentStatus.DECLINED, refunded: PaymentStatus.REFUNDED };

function toProto(p: PaymentRecord): Payment {
  return create(PaymentSchema, {
    id: p.id,
    orderId: p.orderId,
    amount: p.amount,
    status: STATUS[p.state],
    declineReason: p.declineReason,
    idempotencyKey: p.idempotencyKey,
    createdAt: timestampFromDate(p.createdAt),
    updatedAt: timestampFromDate(p.updatedAt),
  });
}
