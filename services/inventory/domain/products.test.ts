import { expect, test } from "bun:test";
import { available, productProblem, stockChangeProblem } from "./products";

const mug = { id: "sku-mug", name: "Mug", price: { amountMinor: 1200n, currency: "EUR" } as any, stock: 10 };

test("productProblem names the field that is wrong", () => {
  expect(productProblem(mug)).toBeUndefined();
  expect(productProblem(undefined)).toBe("product is required");
  expect(productProblem({ ...mug, id: "" })).toBe("product.id is required");
  expect(productProblem({ ...mug, id: "Mug!" })).toContain("product.id must be");
  expect(productProblem({ ...mug, name: "  " })).toBe("product.name is required");
  expect(productProblem({ ...mug, price: undefined })).toBe("product.price is required");
  expect(productProblem({ ...mug, price: { amountMinor: 0n, currency: "EUR" } as any })).toContain(
    "product.price.amount_minor",
  );
  expect(productProblem({ ...mug, stock: -1 })).toBe("product.stock must not be negative");
  expect(productProblem({ ...mug, stock: 0 })).toBeUndefined();
});

test("stock may not drop below what is reserved", () => {
  expect(stockChangeProblem("sku-mug", 5, 5)).toBeUndefined();
  expect(stockChangeProblem("sku-mug", 4, 5)).toContain("stock 4 is below the 5 units");
});

test("available never goes negative", () => {
  expect(available({ ...mug, priceMinor: 1n, currency: "EUR", stock: 10, reserved: 3 })).toBe(7);
  expect(available({ ...mug, priceMinor: 1n, currency: "EUR", stock: 2, reserved: 3 })).toBe(0);
});
