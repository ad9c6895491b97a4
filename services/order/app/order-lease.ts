import type { OrderRecord } from "../domain/order";
import { OrderRefusal } from "../domain/refusal";
import type { OrderRepository } from "./ports";

/**
 * Runs `work` while holding the order's lease, so that two requests (a confirm and a cancel, a retry, a
 * payment outcome, the recovery worker) never move one order at the same time, on one replica or
 * several. A held lease is a `busy` refusal: the caller may retry. While `work` runs the lease is kept
 * alive (a charge may take longer than the lease); if it is lost all the same (the database away for
 * longer than the lease), the holder's writes are refused from then on.
 */
export async function withOrderLease<T>(
  orders: OrderRepository,
  orderId: string,
  leaseMs: number,
  work: (order: OrderRecord, lease: string) => Promise<T>,
): Promise<T> {
  const held = await orders.claim(orderId, leaseMs);
  if (!held) {
    if (!(await orders.find(orderId))) throw new OrderRefusal("not_found", `order ${orderId} not found`);
    throw new OrderRefusal("busy", `order ${orderId} is being changed by another request; retry`);
  }
  const heartbeat = setInterval(
    () => void orders.extend(orderId, held.lease, leaseMs).catch(() => {}),
    Math.max(100, leaseMs / 3),
  );
  try {
    return await work(held.order, held.lease);
  } finally {
    clearInterval(heartbeat);
    await orders.release(orderId, held.lease);
  }
}
