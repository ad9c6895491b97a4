import { expect, test } from "bun:test";
import { chargeProblem, idProblem, refundReasonProblem } from "./request-problems";

const good = {
  orderId: "0b7e0f7c-54a4-4d43-9d1b-1f5f7a0d3a11",
  amount: { $typeName: "shop.common.v1.Money" as const, amountMinor: 100n, currency: "EUR" },
  cardToken: "tok_success",
  idempotencyKey: "k-1",
};

test("a good request has no problem", () => {
  expect(chargeProblem(good)).toBeUndefined();
});

test("each problem names its proto field", () => {
  expect(chargeProblem({ ...good, orderId: "" })).toBe("order_id is required");
  expect(chargeProblem({ ...good, orderId: "a b" })).toContain("order_id must be");
  // Well-formed, but no order's id: a charge that belongs to no order.
  expect(chargeProblem({ ...good, orderId: "o-1" })).toBe("order_id must be an order id (a UUID)");
  expect(chargeProblem({ ...good, cardToken: "tok\u0000" })).toBe("card_token must not contain control characters");
  expect(chargeProblem({ ...good, cardToken: "t".repeat(201) })).toBe("card_token must be at most 200 characters");
  expect(chargeProblem({ ...good, idempotencyKey: "" })).toBe("idempotency_key is required");
  expect(chargeProblem({ ...good, cardToken: "" })).toBe("card_token is required");
  expect(chargeProblem({ ...good, amount: undefined })).toBe("amount is required");
  expect(chargeProblem({ ...good, amount: { ...good.amount, amountMinor: 0n } })).toContain("amount.amount_minor");
  expect(chargeProblem({ ...good, amount: { ...good.amount, currency: "XYZ" } })).toContain("amount.currency");
  expect(idProblem("payment_id", "x".repeat(65))).toContain("payment_id");
  expect(refundReasonProblem("x".repeat(501))).toContain("reason");
  expect(refundReasonProblem("x".repeat(500))).toBeUndefined();
  expect(refundReasonProblem("nul \u0000")).toBe("reason must not contain control characters");
});
