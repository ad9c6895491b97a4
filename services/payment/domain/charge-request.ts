import type { Money } from "../../contracts/gen/shop/common/v1/money_pb";
import type { ChargeRequest } from "./payments";

// What a charge's fields may hold (a UUID order id, a positive amount in a shop currency, a card token
// and an idempotency key) are the rules of ProcessPaymentRequest and of the PaymentRequested command in
// the payment protos; both arrive here checked against them.

/** A charge as it arrives: a ProcessPayment request, or the PaymentRequested command. */
export interface ChargeMessage {
  orderId: string;
  amount?: Money;
  cardToken: string;
  idempotencyKey: string;
}

/** What a charge message that keeps its proto's rules asks the payment rules for. */
export function chargeRequestOf(req: ChargeMessage): ChargeRequest {
  return {
    orderId: req.orderId,
    amountMinor: req.amount!.amountMinor,
    currency: req.amount!.currency,
    cardToken: req.cardToken,
    idempotencyKey: req.idempotencyKey,
  };
}
