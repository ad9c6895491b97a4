import type { Money } from "../../contracts/gen/shop/common/v1/money_pb";
import { moneyProblem } from "../../kit/money";

const ID = /^[\w-]{1,64}$/;
const MAX_REFUND_REASON = 500;

/** What is wrong with an id field, naming it, or undefined when it is well-formed. */
export function idProblem(field: string, value: string): string | undefined {
  if (!value) return `${field} is required`;
  if (!ID.test(value)) return `${field} must be 1-64 letters, digits, '-' or '_'`;
  return undefined;
}

/** What is wrong with a ProcessPayment request, naming the proto field, or undefined when it is fine. */
export function chargeProblem(req: { orderId: string; amount?: Money; cardToken: string; idempotencyKey: string }): string | undefined {
  return (
    idProblem("order_id", req.orderId) ??
    idProblem("idempotency_key", req.idempotencyKey) ??
    (req.cardToken ? undefined : "card_token is required") ??
    moneyProblem("amount", req.amount)
  );
}

export function refundReasonProblem(reason: string): string | undefined {
  return reason.length > MAX_REFUND_REASON ? `reason must be at most ${MAX_REFUND_REASON} characters` : undefined;
}
