import type { PaymentRecord, PaymentStore } from "./payments";

/**
 * Payments in process memory: the store until the Postgres one lands. Single-threaded JS makes
 * insertOnce atomic here.
 */
export class MemoryPaymentStore implements PaymentStore {
  private readonly byId = new Map<string, PaymentRecord>();
  private readonly byKey = new Map<string, PaymentRecord>();

  async insertOnce(p: PaymentRecord) {
    const existing = this.byKey.get(p.idempotencyKey);
    if (existing) return { record: existing, inserted: false };
    this.byId.set(p.id, p);
    this.byKey.set(p.idempotencyKey, p);
    return { record: p, inserted: true };
  }

  async get(id: string) {
    return this.byId.get(id);
  }

  async refund(id: string, at: Date) {
    const p = this.byId.get(id);
    if (!p) return undefined;
    if (p.state === "captured") Object.assign(p, { state: "refunded", updatedAt: at });
    return p;
  }
}
