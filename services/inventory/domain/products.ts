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

// What a product's fields may hold (an id like "sku-mug", a name of at most 200 characters, a stock
// within 0..1e9, a positive price) is a rule of the Product message in inventory_service.proto.

export const available = (p: ProductRecord) => Math.max(0, p.stock - p.reserved);

/** Why stock cannot be set to `stock` while `reserved` units are held, or undefined when it can. */
export function stockChangeProblem(id: string, stock: number, reserved: number): string | undefined {
  if (stock >= reserved) return undefined;
  return `product ${id}: stock ${stock} is below the ${reserved} units held by active reservations; release or commit them first`;
}
