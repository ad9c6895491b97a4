import { describe, expect, test } from "bun:test";
import { cancelAdmission, confirmAdmission, orderTotal, repeatedLineProblems } from "./order-rules";

const customerId = "0b7e0f7c-54a4-4d43-9d1b-1f5f7a0d3a11";

// The fields' own rules are CreateOrderRequest's in order_service.proto: tests/validation-rules.test.ts.
test("repeatedLineProblems names each line that repeats a product", () => {
  expect(
    repeatedLineProblems([
      { productId: "sku-mug", quantity: 1 },
      { productId: "sku-pen", quantity: 1 },
      { productId: "sku-mug", quantity: 5 },
    ]),
  ).toEqual(["items[2].product_id repeats sku-mug; put the quantity on one line"]);
  expect(repeatedLineProblems([{ productId: "sku-mug", quantity: 2 }])).toEqual([]);
});

describe("orderTotal", () => {
  test("sums in minor units", () => {
    expect(
      orderTotal(
        [
          { productId: "a", quantity: 3, unitPriceMinor: 1999n, currency: "EUR" },
          { productId: "b", quantity: 1, unitPriceMinor: 1n, currency: "EUR" },
        ],
        "EUR",
      ),
    ).toEqual({ total: 5998n });
  });
  test("refuses mixed currencies and absurd totals", () => {
    expect(orderTotal([{ productId: "a", quantity: 1, unitPriceMinor: 100n, currency: "USD" }], "EUR")).toEqual({
      problem: "currency EUR does not match items[0] (a), priced in USD",
    });
    expect(
      "problem" in
        orderTotal([{ productId: "a", quantity: 1000, unitPriceMinor: 10_000_000n, currency: "EUR" }], "EUR"),
    ).toBe(true);
  });
});

test("ConfirmOrder starts, takes up, answers or refuses by the order's state and target", () => {
  expect(confirmAdmission({ state: "pending", target: "" })).toBe("start");
  expect(confirmAdmission({ state: "reserving", target: "pending" })).toBe("start"); // being abandoned: taken up again
  expect(confirmAdmission({ state: "reserved", target: "confirmed" })).toBe("resume");
  expect(confirmAdmission({ state: "paid", target: "confirmed" })).toBe("resume");
  expect(confirmAdmission({ state: "payment_pending", target: "confirmed" })).toBe("answer");
  expect(confirmAdmission({ state: "confirmed", target: "" })).toBe("answer");
  expect(confirmAdmission({ state: "cancelled", target: "" })).toEqual({ refuse: "the order is cancelled" });
  expect(confirmAdmission({ state: "confirmed", target: "cancelled" })).toEqual({
    refuse: "the order is being cancelled",
  });
  expect(typeof confirmAdmission({ state: "reserved", target: "payment_failed" })).toBe("object");
});

test("CancelOrder starts from any state but one whose payment is still being worked on", () => {
  for (const state of ["pending", "reserving", "reserved", "paid", "confirmed", "payment_failed"] as const)
    expect(cancelAdmission({ state })).toBe("start");
  expect(cancelAdmission({ state: "cancelled" })).toBe("answer");
  expect(typeof cancelAdmission({ state: "payment_pending" })).toBe("object");
});
