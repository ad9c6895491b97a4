import type { Order } from "../domain/order";
import { orderTotal, repeatedLineProblems } from "../domain/order-rules";
import { OrderRefusal } from "../domain/refusal";
import type { Customers, Inventory, OrderRepository } from "./ports";

export interface CreateOrderRequest {
  customerId: string;
  currency: string;
  items: { productId: string; quantity: number }[];
}

/** CreateOrder (its fields already checked against their rules in the proto): refuse a product on two lines, ask the customer service whether the customer exists, price the lines at inventory, store the order PENDING. */
export async function createOrder(
  deps: { orders: OrderRepository; inventory: Inventory; customers: Customers },
  req: CreateOrderRequest,
): Promise<Order> {
  const problems = repeatedLineProblems(req.items);
  if (problems.length) throw new OrderRefusal("invalid", problems.join("; "));
  if (!(await deps.customers.exists(req.customerId)))
    throw new OrderRefusal("not_found", `customer ${req.customerId} not found`);

  const availability = await deps.inventory.availability(req.items);
  const short = availability.find((a) => !a.sufficient);
  if (short)
    throw new OrderRefusal(
      "out_of_stock",
      `not enough ${short.productId} in stock: ${short.requested} asked, ${short.available} available`,
    );

  const lines = req.items.map((item, i) => {
    const a = availability.find((x) => x.productId === item.productId);
    if (!a?.unitPrice) throw new Error(`inventory gave no price for items[${i}] (${item.productId})`);
    return {
      lineNo: i + 1,
      productId: item.productId,
      quantity: item.quantity,
      unitPriceMinor: a.unitPrice.amountMinor,
      currency: a.unitPrice.currency,
    };
  });
  const total = orderTotal(lines, req.currency);
  if ("problem" in total) throw new OrderRefusal("invalid", total.problem);

  return deps.orders.insert({
    id: crypto.randomUUID(),
    customerId: req.customerId,
    currency: req.currency,
    totalMinor: total.total,
    lines: lines.map(({ currency: _, ...line }) => line),
  });
}
