import type { Money } from "../../contracts/gen/shop/common/v1/money_pb";
import { moneyProblem } from "../../platform/money";
import { textProblem } from "../../kit";

export interface ProductRecord {
  id: string;
  name: string;
  priceMinor: bigint;
  currency: string;
  /** Units on hand; committed sales are already taken off. */
  stock: number;
  /** Units held by ACTIVE reservations. */
  reserved: number;
}

export type NewProduct = Omit<ProductRecord, "reserved">;

/** Longest product name: what a shop shows on a line, far from the 900 KB that went out in every page. */
export const MAX_NAME = 200;

/** A product id: short, stable, URL-safe ("sku-mug"). */
export const PRODUCT_ID = /^[a-z0-9][a-z0-9-]{0,63}$/;

/** Largest stock one product may hold: far above any shelf, well inside int32. */
export const MAX_STOCK = 1_000_000_000;

export const available = (p: ProductRecord) => Math.max(0, p.stock - p.reserved);

/** What is wrong with a product id in `field`, or undefined. */
export function productIdProblem(field: string, id: string): string | undefined {
  if (!id) return `${field} is required`;
  if (!PRODUCT_ID.test(id)) return `${field} must be lowercase letters, digits and '-', at most 64`;
  return undefined;
}

/** What is wrong with a product an operator wants to save (UpsertProduct), or undefined. */
export function productProblem(
  p: { id: string; name: string; price?: Money; stock: number } | undefined,
): string | undefined {
  if (!p) return "product is required";
  return (
    productIdProblem("product.id", p.id) ??
    textProblem("product.name", p.name, { max: MAX_NAME, required: true }) ??
    moneyProblem("product.price", p.price) ??
    (p.stock < 0 ? "product.stock must not be negative" : undefined) ??
    (p.stock > MAX_STOCK ? `product.stock must be at most ${MAX_STOCK}` : undefined)
  );
}

/** Why stock cannot be set to `stock` while `reserved` units are held, or undefined when it can. */
export function stockChangeProblem(id: string, stock: number, reserved: number): string | undefined {
  if (stock >= reserved) return undefined;
  return `product ${id}: stock ${stock} is below the ${reserved} units held by active reservations; release or commit them first`;
}
