import { MAX_AMOUNT_MINOR } from "../../platform/money";
import type { OrderRecord } from "./order";

export interface LineRequest {
  productId: string;
  quantity: number;
}

/**
 * Lines that name a product another line names already; empty when each product is on one line. The
 * fields' own rules (ids, quantities, currency, how many lines) are CreateOrderRequest's in
 * order_service.proto; this one compares lines with each other and names the index.
 */
export function repeatedLineProblems(items: readonly LineRequest[]): string[] {
  const seen = new Set<string>();
  return items.flatMap((item, i) => {
    const again = seen.has(item.productId);
    seen.add(item.productId);
    return again ? [`items[${i}].product_id repeats ${item.productId}; put the quantity on one line`] : [];
  });
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
