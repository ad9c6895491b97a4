import type { OrderRecord } from "../domain/order";
import { OrderRefusal } from "../domain/refusal";
import type { OrderRepository } from "./ports";

/**
 * Runs `work` while holding the order's lease, so that two requests (a confirm and a cancel, a retry, a
 * payment outcome, the recovery worker) never move one order at the same time, on one replica or
 * several. A held lease is a `busy` refusal: the caller may retry.
 */
export async function withOrderLease<T>(orders: OrderRepository, orderId: string, leaseMs: number, work: (order: OrderRecord) => Promise<T>): Promise<T> {
  const order = await orders.claim(orderId, leaseMs);
  if (!order) {
    if (!(await orders.find(orderId))) throw new OrderRefusal("not_found", `order ${orderId} not found`);
    throw new OrderRefusal("busy", `order ${orderId} is being changed by another request; retry`);
  }
  try {
    return await work(order);
  } finally {
    await orders.release(orderId);
  }
}
