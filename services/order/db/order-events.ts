import { OrderCancelled, OrderConfirmed, OrderCreated, OrderPaymentFailed } from "../../kit/events/event-types";
import { writeEvent } from "../../kit/events/outbox";
import type { Database } from "../../kit/db/database";
import { toProto } from "../rpc/order-service";
import type { OrderLineRow, OrderRow, StoredOrder } from "./order-store";
import type { OrderState } from "./schema";

/** The states whose arrival is an event; the steps between (reserved, payment_pending) are not. */
const PUBLISHED = new Set<OrderState>(["pending", "confirmed", "payment_failed", "cancelled"]);

/**
 * Writes the event of an order's state change into the outbox, in the transaction `tx` that makes the
 * change. `from` is the state before (undefined for a new order); moves that change nothing publish
 * nothing, and so do the internal steps (reserved, payment_pending).
 */
export async function writeOrderEvent(
  tx: Database<any>,
  from: OrderState | undefined,
  row: OrderRow,
  lines: OrderLineRow[] | (() => Promise<OrderLineRow[]>),
): Promise<void> {
  if (from === row.state || !PUBLISHED.has(row.state) || (row.state === "pending" && from !== undefined)) return;
  const order: StoredOrder = { ...row, lines: typeof lines === "function" ? await lines() : lines };
  const opts = { entityId: order.id };
  const proto = toProto(order);
  switch (order.state) {
    case "pending":
      if (from === undefined) await writeEvent(tx, OrderCreated, { order: proto }, opts);
      return;
    case "confirmed":
      await writeEvent(tx, OrderConfirmed, { order: proto }, opts);
      return;
    case "payment_failed":
      await writeEvent(tx, OrderPaymentFailed, { order: proto, reason: order.stateReason }, opts);
      return;
    case "cancelled": {
      // The saga refunds before it cancels a paid order: a confirmed one, or one whose reservation ran
      // out while its charge landed (reserved, with the payment id).
      const refunded = (from === "confirmed" || from === "reserved") && order.paymentId !== "";
      await writeEvent(tx, OrderCancelled, { order: proto, reason: order.stateReason, refunded: refunded ? proto.total : undefined }, opts);
      return;
    }
  }
}
