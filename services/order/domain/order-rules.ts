import { CURRENCIES, MAX_AMOUNT_MINOR } from "../../platform/money";
import { isUuid } from "../../kit";
import type { OrderRecord } from "./order";

export const MAX_LINES = 50;
export const MAX_QUANTITY = 1000;
const PRODUCT_ID = /^[a-z0-9][a-z0-9-]{0,63}$/;

export interface LineRequest {
  productId: string;
  quantity: number;
}

/** What is wrong with a CreateOrder request, naming the proto fields; empty when it is fine. */
export function createOrderProblems(req: { customerId: string; items: LineRequest[]; currency: string }): string[] {
  const problems: string[] = [];
  if (!req.customerId) problems.push("customer_id is required");
  else if (!isUuid(req.customerId)) problems.push("customer_id must be a UUID");
  if (!CURRENCIES.includes(req.currency as (typeof CURRENCIES)[number]))
    problems.push(`currency must be one of ${CURRENCIES.join(", ")}, got "${req.currency}"`);
  if (req.items.length === 0) problems.push("items must not be empty");
  if (req.items.length > MAX_LINES) problems.push(`items must hold at most ${MAX_LINES} lines`);
  const seen = new Set<string>();
  req.items.forEach((item, i) => {
    if (!PRODUCT_ID.test(item.productId)) problems.push(`items[${i}].product_id must be a product id like "sku-mug"`);
    else if (seen.has(item.productId))
      problems.push(`items[${i}].product_id repeats ${item.productId}; put the quantity on one line`);
    seen.add(item.productId);
    if (!Number.isInteger(item.quantity) || item.quantity <= 0) problems.push(`items[${i}].quantity must be positive`);
    else if (item.quantity > MAX_QUANTITY) problems.push(`items[${i}].quantity must be at most ${MAX_QUANTITY}`);
  });
  return problems;
}

export interface PricedLine extends LineRequest {
  unitPriceMinor: bigint;
  currency: string;
}

/** The order total, or why the lines cannot make one order (mixed currencies, absurd totals). */
export function orderTotal(lines: PricedLine[], currency: string): { total: bigint } | { problem: string } {
  let total = 0n;
  for (const [i, line] of lines.entries()) {
    if (line.currency !== currency)
      return {
        problem: `currency ${currency} does not match items[${i}] (${line.productId}), priced in ${line.currency}`,
      };
    total += line.unitPriceMinor * BigInt(line.quantity);
  }
  if (total <= 0n) return { problem: "the order total must be positive" };
  if (total > MAX_AMOUNT_MINOR) return { problem: `the order total ${total} exceeds ${MAX_AMOUNT_MINOR} minor units` };
  return { total };
}

/** What is wrong with an id field that must name an order or a customer (UUIDs), naming the field. */
export function uuidProblem(field: string, value: string): string | undefined {
  if (!value) return `${field} is required`;
  if (!isUuid(value)) return `${field} must be a UUID`;
  return undefined;
}

export const MAX_REASON = 500;

/**
 * What ConfirmOrder does with an order: start the saga, take up one that stopped (a crash, a lost
 * answer), answer the order as it is (confirmed, or its payment being worked on), or refuse.
 */
export function confirmAdmission(
  o: Pick<OrderRecord, "state" | "target">,
): "start" | "resume" | "answer" | { refuse: string } {
  if (o.target === "cancelled") return { refuse: "the order is being cancelled" };
  if (o.target === "payment_failed") return { refuse: "the payment of this order failed; place a new order" };
  switch (o.state) {
    case "pending":
    case "reserving": // a confirm that is being abandoned is taken up again: reserving is idempotent
      return o.target === "confirmed" ? "resume" : "start";
    case "reserved":
    case "paid":
      return "resume";
    case "payment_pending":
    case "confirmed":
      return "answer";
    case "payment_failed":
      return { refuse: "the payment of this order failed; place a new order" };
    case "cancelled":
      return { refuse: "the order is cancelled" };
  }
}

/** What CancelOrder does with an order: start giving back what it holds, answer it (already cancelled), or refuse. */
export function cancelAdmission(o: Pick<OrderRecord, "state">): "start" | "answer" | { refuse: string } {
  switch (o.state) {
    case "cancelled":
      return "answer";
    case "payment_pending":
      return { refuse: "the payment of this order is still being processed; cancel once it has an outcome" };
    default:
      return "start";
  }
}
