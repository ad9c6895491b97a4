import type { Money } from "../../contracts/gen/shop/common/v1/money_pb";
import { isUuid, textProblem } from "../../kit";
import { moneyProblem } from "../../platform/money";
import type { ChargeRequest } from "./payments";

const ID = /^[\w-]{1,64}$/;
const MAX_REFUND_REASON = 500;
const MAX_CARD_TOKEN = 200;

/** What is wrong with an id field, naming it, or undefined when it is well-formed. */
export function idProblem(field: string, value: string): string | undefined {
  if (!value) return `${field} is required`;
  if (!ID.test(value)) return `${field} must be 1-64 letters, digits, '-' or '_'`;
  return undefined;
}

/** A charge as it arrives: a ProcessPayment request, or the PaymentRequested command. */
export interface ChargeMessage {
  orderId: string;
  amount?: Money;
  cardToken: string;
  idempotencyKey: string;
}

/** What is wrong with a ProcessPayment request, naming the proto field, or undefined when it is fine. */
export function chargeProblem(req: ChargeMessage): string | undefined {
  return (
    idProblem("order_id", req.orderId) ??
    // Orders are the order service's, and its ids are UUIDs: a charge for anything else belongs to no order.
    (isUuid(req.orderId) ? undefined : "order_id must be an order id (a UUID)") ??
    idProblem("idempotency_key", req.idempotencyKey) ??
    textProblem("card_token", req.cardToken, { max: MAX_CARD_TOKEN, required: true }) ??
    moneyProblem("amount", req.amount)
  );
}

/** What a charge message chargeProblem found nothing wrong with asks the payment rules for. */
export function chargeRequestOf(req: ChargeMessage): ChargeRequest {
  return {
    orderId: req.orderId,
    amountMinor: req.amount!.amountMinor,
    currency: req.amount!.currency,
    cardToken: req.cardToken,
    idempotencyKey: req.idempotencyKey,
  };
}

export function refundReasonProblem(reason: string): string | undefined {
  return textProblem("reason", reason, { max: MAX_REFUND_REASON, lines: true });
}
