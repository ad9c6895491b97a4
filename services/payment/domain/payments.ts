import type { Money } from "../../contracts/gen/shop/common/v1/money_pb";

export type PaymentState = "captured" | "declined" | "refunded";

export interface PaymentRecord {
  id: string;
  orderId: string;
  amount: Money;
  state: PaymentState;
  declineReason: string;
  idempotencyKey: string;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * Where payments are kept. The first writer of an idempotency key wins; a second charge with the same
 * key gets the first record back.
 */
export interface PaymentStore {
  /** Inserts the payment unless its idempotency key exists; returns whichever record holds the key. */
  insertOnce(p: PaymentRecord): Promise<{ record: PaymentRecord; inserted: boolean }>;
  get(id: string): Promise<PaymentRecord | undefined>;
  /** Marks a captured payment refunded; returns undefined when there is no such payment. */
  refund(id: string, at: Date): Promise<PaymentRecord | undefined>;
}

/** Why a refund cannot happen, or undefined when it can. */
export function refundProblem(p: PaymentRecord): string | undefined {
  if (p.state === "declined") return `payment ${p.id} was declined; there is nothing to refund`;
  return undefined;
}
