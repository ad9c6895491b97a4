import { Code, ConnectError, type Client } from "@connectrpc/connect";
import type { InventoryService } from "../../contracts/gen/shop/inventory/v1/inventory_service_pb";
import type { PaymentService } from "../../contracts/gen/shop/payment/v1/payment_service_pb";
import type { Logger } from "../../kit/log";
import type { OrderRow, OrderStore } from "../db/order-store";

/** What the saga steps need; main.ts wires the real ones, tests may wire others. */
export interface SagaDependencies {
  store: OrderStore;
  inventory: Client<typeof InventoryService>;
  payment: Client<typeof PaymentService>;
  /** Whether the customer exists, asked of the customer service. */
  customerExists(id: string): Promise<boolean>;
  log: Logger;
  /** How long one saga step may hold an order (longer than the slowest payment). */
  leaseMs: number;
  /** Lifetime of the stock reservation made on confirm. */
  reservationTtlSeconds: number;
}

/**
 * Runs `step` while holding the order's lease, so a confirm and a cancel of the same order never
 * interleave, on one replica or several. A held lease answers Aborted: the caller may retry.
 */
export async function withOrderLease<T>(deps: SagaDependencies, orderId: string, step: (order: OrderRow) => Promise<T>): Promise<T> {
  const order = await deps.store.claim(orderId, deps.leaseMs);
  if (!order) {
    if (!(await deps.store.get(orderId))) throw new ConnectError(`order ${orderId} not found`, Code.NotFound);
    throw new ConnectError(`order ${orderId} is being changed by another request; retry`, Code.Aborted);
  }
  try {
    return await step(order);
  } finally {
    await deps.store.release(orderId);
  }
}

/** A remote failure, passed on with the callee's name; the codes a caller should see stay as they are. */
export function remoteError(service: string, e: unknown): ConnectError {
  const err = ConnectError.from(e);
  return new ConnectError(`${service}: ${err.rawMessage}`, err.code);
}
