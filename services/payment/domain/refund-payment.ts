import { PaymentProblem, refundDecision, type PaymentRecord, type PaymentStore } from "./payments";

/** Captured → refunded; refunding a refunded payment answers it again. Rejects with a PaymentProblem. */
export async function refundPayment(store: PaymentStore, id: string, reason: string): Promise<PaymentRecord> {
  const refunded = await store.refund(id, reason);
  if (refunded) return refunded;
  const decision = refundDecision(id, await store.get(id));
  switch (decision.kind) {
    case "answer":
      return decision.payment;
    case "refuse":
      throw new PaymentProblem("not_refundable", decision.message);
    case "not_found":
      throw new PaymentProblem("not_found", `payment ${id} not found`);
  }
}
