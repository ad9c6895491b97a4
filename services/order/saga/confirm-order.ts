import { Code, ConnectError } from "@connectrpc/connect";
import { PaymentStatus, type Payment } from "../../contracts/gen/shop/payment/v1/payment_service_pb";
import { PaymentRequested } from "../../kit/events/event-types";
import { writeEvent } from "../../kit/events/outbox";
import { isUuid } from "../../kit/ids";
import { isServiceUnavailable } from "../../kit/resilience/service-unavailable-error";
import type { OrderRow, StoredOrder } from "../db/order-store";
import { confirmStep } from "../domain/order-rules";
import { remoteError, withOrderLease, type SagaDependencies } from "./dependencies";

/** Failures after which the charge certainly did not happen: safe to compensate at once. */
const NOT_CHARGED = new Set([Code.Unavailable, Code.InvalidArgument, Code.FailedPrecondition, Code.NotFound, Code.ResourceExhausted, Code.PermissionDenied, Code.Unauthenticated]);

/**
 * ConfirmOrder: reserve every item (one reservation, with an expiry) → charge with an idempotency key
 * tied to the order → commit the reservation and confirm; on a decline or a certain payment failure,
 * release the reservation and mark the order PAYMENT_FAILED. When payment cannot be used, or the
 * outcome of the charge is unknown, the order waits PAYMENT_PENDING for an asynchronous charge. A confirm
 * that stopped half-way (a crash) resumes from the stored state; the idempotency key makes the charge
 * safe to repeat.
 */
export async function confirmOrder(deps: SagaDependencies, orderId: string, cardToken: string): Promise<StoredOrder> {
  if (!orderId) throw new ConnectError("order_id is required", Code.InvalidArgument);
  if (!isUuid(orderId)) throw new ConnectError("order_id must be a UUID", Code.InvalidArgument);
  if (!cardToken) throw new ConnectError("card_token is required", Code.InvalidArgument);

  await withOrderLease(deps, orderId, async (order) => {
    const step = confirmStep(order.state);
    if (typeof step === "object") throw new ConnectError(`cannot confirm order ${orderId}: ${step.refuse}`, Code.FailedPrecondition);
    if (step === "done") return;
    if (step === "reserve") order = await reserve(deps, order);
    await pay(deps, order, cardToken);
  });
  return (await deps.store.get(orderId))!;
}

async function reserve(deps: SagaDependencies, order: OrderRow): Promise<OrderRow> {
  // The lease gave the order's row; its lines are all that is left to read.
  const lines = await deps.store.lines(order.id);
  try {
    const { reservation } = await deps.inventory.reserveItems({
      orderId: order.id,
      items: lines.map((l) => ({ productId: l.productId, quantity: l.quantity })),
      ttlSeconds: deps.reservationTtlSeconds,
    });
    return deps.store.transition(order.id, "reserved", { reservationId: reservation!.id, stateReason: "" });
  } catch (e) {
    const err = remoteError("inventory", e);
    // Out of stock (or a product gone) leaves the order PENDING: nothing is held, the customer may cancel.
    if (err.code === Code.FailedPrecondition || err.code === Code.NotFound) throw new ConnectError(`cannot reserve the items: ${err.rawMessage}`, Code.FailedPrecondition);
    throw err;
  }
}

async function pay(deps: SagaDependencies, order: OrderRow, cardToken: string): Promise<void> {
  const charge = () =>
    deps.payment.processPayment(
      { orderId: order.id, amount: { amountMinor: order.totalMinor, currency: order.currency }, cardToken, idempotencyKey: `order-${order.id}` },
      { timeoutMs: 10_000 },
    );
  let payment: Payment | undefined;
  try {
    payment = (await charge()).payment;
  } catch (e) {
    if (isServiceUnavailable(e, "payment")) return chargeLater(deps, order, cardToken, e.message);
    const err = remoteError("payment", e);
    if (NOT_CHARGED.has(err.code)) return fail(deps, order, `payment failed: ${err.rawMessage}`);
    // The outcome is unknown (a timeout, a dropped connection): the asynchronous charge, with the same
    // key, finds a charge that landed and makes one that did not.
    return chargeLater(deps, order, cardToken, `payment outcome unknown: ${err.rawMessage}`);
  }
  if (!payment) throw new ConnectError("payment answered without a payment", Code.Internal);
  if (payment.status !== PaymentStatus.CAPTURED) return fail(deps, order, payment.declineReason || "payment declined", payment.id);
  await completeCaptured(deps, order, payment.id);
}

/**
 * The payment fallback: payment cannot be used now (breaker open, retries spent, no instance), so the
 * order waits PAYMENT_PENDING and a PaymentRequested command, written in the same transaction, asks the
 * payment service to charge when it is back. Same idempotency key, so a charge that did land is found,
 * not repeated; no payment id is made up. The outcome event finishes the order (events/payment-outcomes).
 */
async function chargeLater(deps: SagaDependencies, order: OrderRow, cardToken: string, why: string): Promise<void> {
  deps.log.warn({ orderId: order.id, why }, "payment unavailable: order waits for an asynchronous charge");
  await deps.store.transition(order.id, "payment_pending", { stateReason: `waiting for payment: ${why}` }, (tx) =>
    writeEvent(tx, PaymentRequested, { orderId: order.id, amount: { amountMinor: order.totalMinor, currency: order.currency }, cardToken, idempotencyKey: `order-${order.id}` }, { entityId: order.id }),
  );
}

/** A captured payment: take the reserved units for good and confirm, or give the money back. */
export async function completeCaptured(deps: SagaDependencies, order: OrderRow, paymentId: string): Promise<void> {
  try {
    await deps.inventory.commitReservation({ reservationId: order.reservationId });
  } catch (e) {
    // The reservation ran out (or was released) before the charge landed: give the money back.
    const err = remoteError("inventory", e);
    if (err.code !== Code.FailedPrecondition && err.code !== Code.NotFound) throw err;
    await deps.payment.refundPayment({ paymentId, reason: "reservation expired before confirmation" });
    await deps.store.transition(order.id, "cancelled", { paymentId, stateReason: `reservation lost before confirmation (${err.rawMessage}); payment refunded` });
    return;
  }
  await deps.store.transition(order.id, "confirmed", { paymentId, stateReason: "" });
}

/** Compensation: give the stock back, then record why the payment failed. */
export async function fail(deps: SagaDependencies, order: OrderRow, reason: string, paymentId = ""): Promise<void> {
  await deps.inventory.releaseReservation({ reservationId: order.reservationId, reason }).catch((e) => {
    throw remoteError("inventory", e);
  });
  await deps.store.transition(order.id, "payment_failed", { paymentId, stateReason: reason });
}
