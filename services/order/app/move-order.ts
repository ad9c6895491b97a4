import type { Order, OrderRecord } from "../domain/order";
import { OrderRefusal } from "../domain/refusal";
import { driveSaga, type Driven, type SagaDeps } from "./drive-saga";
import { withOrderLease } from "./order-lease";
import type { SagaChange } from "../domain/saga";

/** What a request to move an order (confirm it, cancel it) brings to moveOrder. */
export interface OrderMove {
  /** The verb its refusal names: "cannot <verb> order …". */
  verb: string;
  /** Whether the order, as it is, may go: refused, answered as it is, or (re)started. */
  admission(order: OrderRecord): "start" | "resume" | "answer" | { refuse: string };
  /** What to record to set the saga off: its target and what it needs. */
  change(order: OrderRecord): SagaChange;
  /** The caller's deadline (epoch ms), if it gave one. */
  deadline?: number;
  /** What the caller hears of how far the saga got (a refusal thrown), when not everything is fine. */
  ended?(driven: Driven): void;
}

/**
 * The course of CancelOrder and ConfirmOrder: under the order's lease, ask the rules whether it may
 * move, record the change that sets its saga off, and drive the saga as far as it goes now. Answers the
 * order as it then is.
 */
export async function moveOrder(
  deps: SagaDeps,
  orderId: string,
  { verb, admission, change, deadline, ended }: OrderMove,
): Promise<Order> {
  await withOrderLease(deps.orders, orderId, deps.leaseMs, async (order, lease) => {
    const admitted = admission(order);
    if (typeof admitted === "object")
      throw new OrderRefusal("not_allowed", `cannot ${verb} order ${orderId}: ${admitted.refuse}`);
    if (admitted === "answer") return;
    const started = await deps.orders.record(orderId, change(order), { lease, leaseMs: deps.leaseMs });
    ended?.(await driveSaga(deps, started, { lease, deadline }));
  });
  return (await deps.orders.get(orderId))!;
}
