import { describe, expect, test } from "bun:test";
import { InventoryService } from "../../contracts/gen/shop/inventory/v1/inventory_service_pb";
import { PaymentService } from "../../contracts/gen/shop/payment/v1/payment_service_pb";
import { isIdempotentCall, isIdempotentRequest } from "./idempotency";

const pay = PaymentService.method;
const inv = InventoryService.method;

describe("which RPCs may be retried", () => {
  test("methods declaring NO_SIDE_EFFECTS or IDEMPOTENT", () => {
    expect(isIdempotentCall(pay.getPaymentStatus, { paymentId: "p" })).toBe(true);
    expect(isIdempotentCall(inv.getProduct, { productId: "x" })).toBe(true);
    expect(isIdempotentCall(inv.upsertProduct, {})).toBe(true);
  });

  test("a request carrying a non-empty idempotency_key field", () => {
    expect(isIdempotentCall(pay.processPayment, { orderId: "o", idempotencyKey: "k-1" })).toBe(true);
    expect(isIdempotentCall(pay.processPayment, { orderId: "o", idempotencyKey: "" })).toBe(false);
    expect(isIdempotentCall(pay.processPayment, { orderId: "o" })).toBe(false);
  });

  test("any call with an idempotency-key header", () => {
    expect(isIdempotentCall(inv.reserveItems, { orderId: "o" })).toBe(false);
    expect(isIdempotentCall(inv.reserveItems, { orderId: "o" }, new Headers({ "Idempotency-Key": "r-1" }))).toBe(true);
    expect(isIdempotentCall(pay.refundPayment, { paymentId: "p" })).toBe(false);
  });
});

test("REST: HTTP's idempotent methods, or an Idempotency-Key header", () => {
  expect(["GET", "head", "PUT", "DELETE", "OPTIONS"].map((m) => isIdempotentRequest(m, new Headers()))).toEqual([
    true,
    true,
    true,
    true,
    true,
  ]);
  expect(isIdempotentRequest("POST", new Headers())).toBe(false);
  expect(isIdempotentRequest("PATCH", new Headers())).toBe(false);
  expect(isIdempotentRequest("POST", new Headers({ "idempotency-key": "c-1" }))).toBe(true);
});
