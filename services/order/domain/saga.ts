import type { OrderRecord, OrderState, SagaTarget } from "./order";

/**
 * The order saga as pure decisions: from what is recorded of an order, the next step; from a step's
 * outcome, what to record before the next one starts. Whoever drives an order (a ConfirmOrder or
 * CancelOrder call, a payment outcome event, the recovery worker after a crash) asks the same
 * questions, so an order that stopped anywhere is taken up exactly where it stopped.
 *
 * Forward, to `confirmed`: reserve → charge → commit. Back, to `pending`, `payment_failed` or
 * `cancelled`: refund what was captured, release what is held, then take the target state.
 */
export type SagaStep =
  /** Reserve every line (idempotent per order at inventory). */
  | { kind: "reserve" }
  /** Charge the total with the order's payment key (idempotent per key at payment and at the provider). */
  | { kind: "charge" }
  /** Take the reserved units for good. */
  | { kind: "commit" }
  /** Give the captured payment back. */
  | { kind: "refund" }
  /** Give the units back: by reservation id, or by order when a reserve may have landed unrecorded. */
  | { kind: "release"; byOrder: boolean }
  /** The charge was handed to payment's asynchronous path: its outcome event moves the order on. */
  | { kind: "await_payment" }
  /** Nothing left to call: the order takes its target state. */
  | { kind: "finish" }
  /** No saga under way. */
  | { kind: "none" };

type SagaView = Pick<OrderRecord, "state" | "target" | "refunded">;

const HOLDS_CAPTURE: ReadonlySet<OrderState> = new Set(["paid", "confirmed"]);
const HOLDS_RESERVATION: ReadonlySet<OrderState> = new Set(["reserved", "paid", "payment_pending"]);

/**
 * `recovering`: the recovery worker is asking, for an order nobody moved for a while. An order waiting
 * for payment's asynchronous charge is then charged with its key again: payment answers the charge that
 * landed (or makes it once), so an outcome event that never came cannot leave the order waiting.
 */
export function nextStep(o: SagaView, { recovering = false } = {}): SagaStep {
  if (o.target === "") return { kind: "none" };
  if (o.state === o.target) return { kind: "finish" };
  if (o.target === "confirmed") {
    switch (o.state) {
      case "pending":
      case "reserving":
        return { kind: "reserve" };
      case "reserved":
        return { kind: "charge" };
      case "paid":
        return { kind: "commit" };
      case "payment_pending":
        return recovering ? { kind: "charge" } : { kind: "await_payment" };
      default:
        // A final order is never driven forward: the use cases refuse before they set this target.
        return { kind: "none" };
    }
  }
  if (HOLDS_CAPTURE.has(o.state) && !o.refunded) return { kind: "refund" };
  if (o.state === "reserving") return { kind: "release", byOrder: true };
  if (HOLDS_RESERVATION.has(o.state)) return { kind: "release", byOrder: false };
  return { kind: "finish" };
}

/**
 * What a remote step came to, as the saga needs to know it:
 *   done        it happened (with what it answered)
 *   refused     it certainly did not happen and will not on a retry (out of stock, declined, expired)
 *   unavailable it did not happen now, or it may have: the service could not be used, or its answer
 *               was lost (a timeout, a dropped connection). Only idempotent steps follow this outcome
 *               with a retry; the charge hands itself over to payment's asynchronous path instead.
 */
export type StepOutcome<T = void> =
  { kind: "done"; value: T } | { kind: "refused"; reason: string } | { kind: "unavailable"; reason: string };

export type ChargeResult =
  { captured: true; paymentId: string } | { captured: false; paymentId: string; reason: string };

/** Fields to record about an order (and, for the charge handed over, the command to write with them). */
export interface SagaChange {
  state?: OrderState;
  target?: SagaTarget;
  reservationId?: string;
  paymentId?: string;
  cardToken?: string;
  refunded?: boolean;
  stateReason?: string;
  /** Also write a PaymentRequested command for payment's asynchronous path, in the same transaction. */
  requestPayment?: true;
}

/**
 * After a step, what to record and whether the saga goes on now ("continue"), stops until its outcome
 * event comes ("wait"), stops because a remote service is unavailable ("retry", left to the recovery
 * worker), or ended with a refusal the caller should hear about ("refused").
 */
export type Decision =
  | { record: SagaChange; then: "continue" | "wait" }
  | { record?: SagaChange; then: "retry"; reason: string }
  | { record: SagaChange; then: "refused"; reason: string };

/** The order takes its target state; the saga is over. */
export const finish = (o: Pick<OrderRecord, "target">): SagaChange => ({
  state: o.target as OrderState,
  target: "",
  cardToken: "",
});

export function afterReserve(outcome: StepOutcome<{ reservationId: string }>): Decision {
  switch (outcome.kind) {
    case "done":
      return { record: { state: "reserved", reservationId: outcome.value.reservationId }, then: "continue" };
    case "refused":
      // Out of stock, a product gone: nothing was held. The order stays PENDING; the customer may cancel.
      return {
        record: {
          state: "pending",
          target: "",
          cardToken: "",
          stateReason: `cannot reserve the items: ${outcome.reason}`,
        },
        then: "refused",
        reason: `cannot reserve the items: ${outcome.reason}`,
      };
    case "unavailable":
      // A reservation may have landed: go back to pending, releasing whatever the order holds.
      return {
        record: { target: "pending", stateReason: `confirmation abandoned: ${outcome.reason}` },
        then: "continue",
      };
  }
}

export function afterCharge(outcome: StepOutcome<ChargeResult>, o?: Pick<OrderRecord, "state">): Decision {
  switch (outcome.kind) {
    case "done":
      return outcome.value.captured
        ? { record: { state: "paid", paymentId: outcome.value.paymentId }, then: "continue" }
        : {
            record: {
              target: "payment_failed",
              paymentId: outcome.value.paymentId,
              stateReason: outcome.value.reason || "payment declined",
            },
            then: "continue",
          };
    case "refused":
      return {
        record: { target: "payment_failed", stateReason: `payment failed: ${outcome.reason}` },
        then: "continue",
      };
    case "unavailable":
      // Already handed over (the recovery worker asking again): the command is out; ask again later.
      if (o?.state === "payment_pending") return { then: "retry", reason: outcome.reason };
      // Payment cannot be used now, or the outcome of the charge is unknown: payment's asynchronous path
      // charges with the same key, finding a charge that landed rather than making a second one.
      return {
        record: {
          state: "payment_pending",
          stateReason: `waiting for payment: ${outcome.reason}`,
          requestPayment: true,
        },
        then: "wait",
      };
  }
}

/** The outcome of a charge made by payment's asynchronous path, announced by event (or found by the recovery worker). */
export function afterPaymentOutcome(outcome: ChargeResult): Decision {
  return afterCharge({ kind: "done", value: outcome });
}

export function afterCommit(outcome: StepOutcome): Decision {
  switch (outcome.kind) {
    case "done":
      return { record: { state: "confirmed", target: "", cardToken: "", stateReason: "" }, then: "continue" };
    case "refused":
      // The reservation ran out (or was released) before the charge landed: give the money back.
      return {
        record: {
          target: "cancelled",
          stateReason: `reservation lost before confirmation (${outcome.reason}); payment refunded`,
        },
        then: "continue",
      };
    case "unavailable":
      return { then: "retry", reason: outcome.reason };
  }
}

export function afterRefund(outcome: StepOutcome): Decision {
  switch (outcome.kind) {
    case "done":
      return { record: { refunded: true }, then: "continue" };
    case "refused":
      // Payment says there is nothing to give back for a payment we recorded as captured: an operator
      // must look. The order stays where it is and keeps showing up as stuck.
      return { then: "retry", reason: `refund refused: ${outcome.reason}` };
    case "unavailable":
      return { then: "retry", reason: outcome.reason };
  }
}

export function afterRelease(o: Pick<OrderRecord, "target">, outcome: StepOutcome): Decision {
  // Refused: the units were sold after all (a commit whose answer was lost). Nothing can be given back
  // by releasing; the money was, and the order ends where it was going.
  if (outcome.kind === "unavailable") return { then: "retry", reason: outcome.reason };
  return { record: finish(o), then: "continue" };
}

/** How long the recovery worker waits before it tries an order's step again after `attempts` transient failures in a row. */
export function retryDelayMs(attempts: number, { baseMs = 500, maxMs = 10_000 } = {}): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, attempts - 1));
}

/**
 * What the recovery worker does with an order whose saga stopped with nobody working on it. A confirm
 * interrupted before its reservation was recorded goes back to pending (whatever inventory may hold is
 * released): no money moved, and its caller was told it failed. Every other order goes on the way it
 * was going: a charge that may have landed is finished with the same key, never repeated.
 */
export function resumeTarget(o: Pick<OrderRecord, "state" | "target">): SagaTarget {
  if (o.target === "confirmed" && (o.state === "reserving" || o.state === "pending")) return "pending";
  return o.target;
}
