import { expect, test } from "bun:test";
import { available, stockChangeProblem } from "./products";

const mug = { id: "sku-mug", name: "Mug" };

test("stock may not drop below what is reserved", () => {
  expect(stockChangeProblem("sku-mug", 5, 5)).toBeUndefined();
  expect(stockChangeProblem("sku-mug", 4, 5)).toContain("stock 4 is below the 5 units");
});

test("available never goes negative", () => {
  expect(available({ ...mug, priceMinor: 1n, currency: "EUR", stock: 10, reserved: 3 })).toBe(7);
  expect(available({ ...mug, priceMinor: 1n, currency: "EUR", stock: 2, reserved: 3 })).toBe(0);
});
