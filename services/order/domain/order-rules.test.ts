import { describe, expect, test } from "bun:test";
import { cancelStep, confirmStep, createOrderProblems, orderTotal } from "./order-rules";

const customerId = "0b7e0f7c-54a4-4d43-9d1b-1f5f7a0d3a11";

describe("createOrderProblems", () => {
  test("a good request has none", () => {
    expect(createOrderProblems({ customerId, currency: "EUR", items: [{ productId: "sku-mug", quantity: 2 }] })).toEqual([]);
  });
  test("names every bad field", () => {
    expect(
      createOrderProblems({
        customerId: "42",
        currency: "DOGE",
        items: [
          { productId: "sku-mug", quantity: 0 },
          { productId: "Robert'); DROP TABLE", quantity: 1 },
          { productId: "sku-mug", quantity: 5000 },
        ],
      }),
    ).toEqual([
      "customer_id must be a UUID",
      'currency must be one of EUR, USD, GBP, got "DOGE"',
      "items[0].quantity must be positive",
      'items[1].product_id must be a product id like "sku-mug"',
      "items[2].product_id repeats sku-mug; put the quantity on one line",
      "items[2].quantity must be at most 1000",
    ]);
  });
  test("empty", () => {
    expect(createOrderProblems({ customerId: "", currency: "EUR", items: [] })).toEqual(["customer_id is required", "items must not be empty"]);
  });
});

describe("orderTotal", () => {
  test("sums in minor units", () => {
    expect(orderTotal([{ productId: "a", quantity: 3, unitPriceMinor: 1999n, currency: "EUR" }, { productId: "b", quantity: 1, unitPriceMinor: 1n, currency: "EUR" }], "EUR")).toEqual({ total: 5998n });
  });
  test("refuses mixed currencies and absurd totals", () => {
    expect(orderTotal([{ productId: "a", quantity: 1, unitPriceMinor: 100n, currency: "USD" }], "EUR")).toEqual({ problem: "currency EUR does not match items[0] (a), priced in USD" });
    expect("problem" in orderTotal([{ productId: "a", quantity: 1000, unitPriceMinor: 10_000_000n, currency: "EUR" }], "EUR")).toBe(true);
  });
});

test("state rules: confirm and cancel", () => {
  expect(confirmStep("pending")).toBe("reserve");
  expect(confirmStep("reserved")).toBe("pay");
  expect(confirmStep("confirmed")).toBe("done");
  expect(confirmStep("cancelled")).toEqual({ refuse: "the order is cancelled" });
  expect(cancelStep("reserved")).toBe("release");
  expect(cancelStep("confirmed")).toBe("refund");
  expect(cancelStep("cancelled")).toBe("done");
  expect(typeof cancelStep("payment_pending")).toBe("object");
});
