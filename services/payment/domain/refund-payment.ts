import { PaymentProblem, refundDecision, type PaymentRecord, type PaymentStore } from "./payments";

/** Captured → refunded; refunding a refunded payment answers it again. Rejects with a PaymentProblem. */
export async function refundPayment(store: PaymentStore, id: string, reason: string): Promise<PaymentRecord> {
  const refunded = await store.refund(id, reason);
  if (refunded) return refunded;
  const decision = refundDecision(id, await store.get(id));
  if (decision.kind === "answer") return decision.payment;
  throw new PaymentProblem(decision.problem, decision.message);
}
