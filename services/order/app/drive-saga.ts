import type { Logger } from "../../kit";
import { paymentKey, type OrderRecord } from "../domain/order";
import {
  afterCharge,
  afterCommit,
  afterRefund,
  afterRelease,
  afterReserve,
  finish,
  nextStep,
  retryDelayMs,
  type Decision,
} from "../domain/saga";
import type { Inventory, OrderRepository, Payments } from "./ports";

export interface SagaDeps {
  orders: OrderRepository;
  inventory: Inventory;
  payments: Payments;
  log: Logger;
  /** How long one holder may keep an order; every recorded step extends it. */
  leaseMs: number;
  /** Lifetime of the reservation made on confirm. */
  reservationTtlSeconds: number;
  /** Longest a charge may take (the provider's slowest answer); other steps take `stepTimeoutMs`. */
  chargeTimeoutMs: number;
  stepTimeoutMs: number;
  /** How long an order waits for payment's asynchronous charge before the recovery worker asks payment itself. */
  paymentPendingRecoveryMs: number;
  /** Longest wait of the recovery worker between two tries of a failing step. */
  maxRetryDelayMs: number;
  now?: () => number;
}

/** Time kept back from a caller's deadline to record the outcome and answer. */
const ANSWER_MARGIN_MS = 1000;
/** A remote step given less than this is not started. */
const MIN_STEP_MS = 500;
/** A charge given less than this is handed to payment's asynchronous path rather than cut off mid-way. */
const MIN_CHARGE_MS = 2000;

/** Whether a caller's deadline leaves time for a first step at all. */
export const timeForAStep = (deadline: number | undefined, now: number) =>
  deadline === undefined || deadline - now - ANSWER_MARGIN_MS >= MIN_STEP_MS;

export type DriveEnd =
  /** The saga is over (or there was none): the order is where its target was. */
  | "finished"
  /** The charge is with payment's asynchronous path; its outcome event moves the order on. */
  | "waiting"
  /** A step failed transiently (or the caller's deadline came): the recovery worker takes it up later. */
  | "retry"
  /** A step was refused in a way the caller should hear (out of stock): what was held is given back. */
  | "refused";

export interface Driven {
  order: OrderRecord;
  end: DriveEnd;
  reason?: string;
}

/**
 * Drives the saga of an order whose lease the caller holds, one step at a time, recording each step's
 * outcome before the next one starts, until it is over, waits for payment's asynchronous outcome, must
 * be retried later, or was refused. `deadline` (epoch ms) is the caller's: steps are given what is left
 * of it (a charge that would not fit is handed to payment's asynchronous path instead of being cut off).
 */
export async function driveSaga(
  deps: SagaDeps,
  start: OrderRecord,
  { lease, deadline, recovering = false }: { lease: string; deadline?: number; recovering?: boolean },
): Promise<Driven> {
  const now = deps.now ?? Date.now;
  let order = start;
  const budget = (limitMs: number) =>
    Math.min(limitMs, deadline === undefined ? Infinity : deadline - now() - ANSWER_MARGIN_MS);
  const record = (decision: Decision) =>
    decision.record
      ? deps.orders.record(order.id, decision.record, {
          lease,
          leaseMs: deps.leaseMs,
          recoverInMs: decision.then === "wait" ? deps.paymentPendingRecoveryMs : 0,
        })
      : Promise.resolve(order);

  for (;;) {
    const step = nextStep(order, { recovering });
    let decision: Decision;
    switch (step.kind) {
      case "none":
        return { order, end: "finished" };
      case "await_payment":
        return { order, end: "waiting" };
      case "finish":
        order = await deps.orders.record(order.id, finish(order), { lease, leaseMs: deps.leaseMs });
        continue;
      case "charge": {
        const timeoutMs = budget(deps.chargeTimeoutMs);
        decision =
          timeoutMs < MIN_CHARGE_MS
            ? afterCharge({ kind: "unavailable", reason: "the caller's deadline leaves no time to charge now" }, order)
            : afterCharge(
                await deps.payments.charge(
                  {
                    orderId: order.id,
                    amountMinor: order.totalMinor,
                    currency: order.currency,
                    cardToken: order.cardToken,
                    idempotencyKey: paymentKey(order.id),
                  },
                  { timeoutMs },
                ),
                order,
              );
        break;
      }
      default: {
        const timeoutMs = budget(deps.stepTimeoutMs);
        if (timeoutMs < MIN_STEP_MS)
          return stopForRetry(deps, order, lease, "the caller's deadline leaves no time for the next step");
        decision = await remoteStep(deps, order, step, { timeoutMs });
      }
    }
    if (decision.then === "retry") return stopForRetry(deps, order, lease, decision.reason);
    order = await record(decision);
    if (decision.then === "wait") return { order, end: "waiting" };
    if (decision.then === "refused") return { order, end: "refused", reason: decision.reason };
  }
}

async function remoteStep(
  deps: SagaDeps,
  order: OrderRecord,
  step: ReturnType<typeof nextStep>,
  budget: { timeoutMs: number },
): Promise<Decision> {
  switch (step.kind) {
    case "reserve": {
      const lines = await deps.orders.lines(order.id);
      const items = lines.map((l) => ({ productId: l.productId, quantity: l.quantity }));
      return afterReserve(await deps.inventory.reserve(order.id, items, deps.reservationTtlSeconds, budget));
    }
    case "commit":
      return afterCommit(await deps.inventory.commit(order.reservationId, budget));
    case "refund":
      return afterRefund(await deps.payments.refund(order.paymentId, order.stateReason || "order cancelled", budget));
    case "release": {
      const what =
        step.byOrder || !order.reservationId ? { orderId: order.id } : { reservationId: order.reservationId };
      return afterRelease(order, await deps.inventory.release(what, order.stateReason || "order cancelled", budget));
    }
    default:
      throw new Error(`not a remote step: ${step.kind}`);
  }
}

/**
 * The step could not be done now: count the failure and leave the order to the recovery worker, backing
 * off (an order waiting for payment's asynchronous charge is asked about again only after the grace period).
 */
async function stopForRetry(deps: SagaDeps, order: OrderRecord, lease: string, reason: string): Promise<Driven> {
  const delayMs =
    order.state === "payment_pending"
      ? deps.paymentPendingRecoveryMs
      : retryDelayMs(order.attempts + 1, { maxMs: deps.maxRetryDelayMs });
  deps.log.warn(
    { orderId: order.id, state: order.state, target: order.target, retryInMs: delayMs, why: reason },
    "saga step failed; the recovery worker retries it",
  );
  const recorded = await deps.orders.record(
    order.id,
    {},
    { lease, leaseMs: deps.leaseMs, recoverInMs: delayMs, failedAttempt: true },
  );
  return { order: recorded, end: "retry", reason };
}
