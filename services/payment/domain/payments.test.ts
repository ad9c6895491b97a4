import { describe, expect, test } from "bun:test";
import {
  afterLostClaim,
  idempotencyConflict,
  refundDecision,
  type ChargeRequest,
  type PaymentRecord,
} from "./payments";

const req: ChargeRequest = {
  orderId: "o-1",
  amountMinor: 1999n,
  currency: "EUR",
  cardToken: "tok_success",
  idempotencyKey: "k-1",
};
const record = (over: Partial<PaymentRecord> = {}): PaymentRecord => ({
  id: "p-1",
  orderId: "o-1",
  amountMinor: 1999n,
  currency: "EUR",
  state: "captured",
  declineReason: "",
  idempotencyKey: "k-1",
  refundReason: "",
  createdAt: new Date(0),
  updatedAt: new Date(0),
  ...over,
});

const NOW = new Date(1_000_000);
const pending = (idempotencyKey: string, expiresAt = new Date(NOW.getTime() + 1)) =>
  record({ state: "pending", idempotencyKey, claimExpiresAt: expiresAt });

describe("idempotencyConflict", () => {
  test("the same order and amount is the same charge, whatever the card token", () => {
    expect(idempotencyConflict(record(), { ...req, cardToken: "tok_other" })).toBeUndefined();
  });

  test("another order, amount or currency names idempotency_key and what differs", () => {
    expect(idempotencyConflict(record(), { ...req, orderId: "o-2" })).toBe(
      "idempotency_key k-1 was already used for another charge (order_id o-1)",
    );
    expect(idempotencyConflict(record(), { ...req, amountMinor: 1n })).toContain("amount 1999 EUR");
    expect(idempotencyConflict(record(), { ...req, currency: "USD" })).toContain("amount 1999 EUR");
  });
});

describe("afterLostClaim", () => {
  test("a settled payment with the key is the answer, declined or refunded alike", () => {
    for (const state of ["captured", "declined", "refunded"] as const) {
      expect(afterLostClaim(req, record({ state }), undefined, NOW)).toEqual({
        kind: "answer",
        payment: record({ state }),
      });
    }
  });

  test("a pending claim on the key means wait; a different charge on the key is a conflict even while pending", () => {
    expect(afterLostClaim(req, pending("k-1"), undefined, NOW).kind).toBe("wait");
    expect(afterLostClaim({ ...req, amountMinor: 5n }, pending("k-1"), undefined, NOW)).toMatchObject({
      kind: "refuse",
      problem: "conflict",
    });
  });

  test("another key's capture for the order is already_paid, naming that payment", () => {
    expect(afterLostClaim(req, undefined, record({ id: "p-9", idempotencyKey: "k-9" }), NOW)).toEqual({
      kind: "refuse",
      problem: "already_paid",
      message: "order o-1 already paid by payment p-9",
    });
  });

  test("another key's pending claim for the order means wait; nothing at all means claim again", () => {
    expect(afterLostClaim(req, undefined, pending("k-9"), NOW).kind).toBe("wait");
    expect(afterLostClaim(req, undefined, undefined, NOW)).toEqual({ kind: "claim_again" });
  });
});

describe("afterLostClaim with an abandoned claim (its lease ran out)", () => {
  test("on the key or on the order: resolve it from what the provider did with its key, never just take it over", () => {
    expect(afterLostClaim(req, pending("k-1", NOW), undefined, NOW)).toEqual({
      kind: "resolve_abandoned",
      claim: pending("k-1", NOW),
    });
    expect(afterLostClaim(req, undefined, pending("k-9", NOW), NOW)).toEqual({
      kind: "resolve_abandoned",
      claim: pending("k-9", NOW),
    });
  });

  test("a different charge on an abandoned key is still a conflict", () => {
    expect(afterLostClaim({ ...req, orderId: "o-2" }, pending("k-1", NOW), undefined, NOW)).toMatchObject({
      kind: "refuse",
      problem: "conflict",
    });
  });
});

describe("refundDecision", () => {
  test("refunded answers again; declined is refused; missing is not found", () => {
    expect(refundDecision("p-1", record({ state: "refunded" }))).toEqual({
      kind: "answer",
      payment: record({ state: "refunded" }),
    });
    expect(refundDecision("p-1", record({ state: "declined" }))).toEqual({
      kind: "refuse",
      problem: "not_refundable",
      message: "payment p-1 was declined; there is nothing to refund",
    });
    expect(refundDecision("p-1", undefined)).toEqual({
      kind: "refuse",
      problem: "not_found",
      message: "payment p-1 not found",
    });
  });
});
