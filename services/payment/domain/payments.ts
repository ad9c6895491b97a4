/** The states of a payment row. 'pending' is a claim on an idempotency key while the provider is asked. */
export const PAYMENT_STATES = ["pending", "captured", "declined", "refunded"] as const;
export type PaymentState = (typeof PAYMENT_STATES)[number];

export interface PaymentRecord {
  id: string;
  orderId: string;
  amountMinor: bigint;
  currency: string;
  state: PaymentState;
  declineReason: string;
  idempotencyKey: string;
  /** While pending: when the claim counts as abandoned and may be taken over. */
  claimExpiresAt?: Date;
  refundReason: string;
  refundedAt?: Date;
  createdAt: Date;
  updatedAt: Date;
}

/** What a caller asks to be charged. Validated before it gets here. */
export interface ChargeRequest {
  orderId: string;
  amountMinor: bigint;
  currency: string;
  cardToken: string;
  idempotencyKey: string;
}

export type Settlement = { state: "captured" } | { state: "declined"; reason: string };

/**
 * Where payments are kept. Every method is one atomic step on its own, so replicas sharing the
 * store need no other coordination.
 */
export interface PaymentStore {
  /**
   * Writes a pending claim for the request's key, unless the key is taken or the order already has a
   * pending or captured payment. True when claimed.
   */
  claim(id: string, req: ChargeRequest, leaseMs: number): Promise<boolean>;
  /** The row holding an idempotency key, pending or settled. */
  findByKey(idempotencyKey: string): Promise<PaymentRecord | undefined>;
  /** The order's pending or captured payment, if any. */
  findLive(orderId: string): Promise<PaymentRecord | undefined>;
  /**
   * Settles a pending claim: our own (`abandoned` false), or one whose lease ran out (`abandoned`
   * true: its holder died, and the provider told us what it did with the key). Undefined when the claim
   * is no longer pending (or, for an abandoned one, not expired).
   */
  settle(id: string, settlement: Settlement, opts?: { abandoned?: boolean }): Promise<PaymentRecord | undefined>;
  /** Removes a pending claim (ours, or an abandoned one when `abandoned`), so the key may be claimed again. */
  release(id: string, opts?: { abandoned?: boolean }): Promise<void>;
  /** A payment row by id, pending or not. */
  byId(id: string): Promise<PaymentRecord | undefined>;
  /** A settled payment by id; pending claims are not payments yet. */
  get(id: string): Promise<PaymentRecord | undefined>;
  /** Captured → refunded, in one step; undefined when no captured payment has this id. */
  refund(id: string, reason: string): Promise<PaymentRecord | undefined>;
}

/**
 * Why a request cannot reuse a key that is already held, or undefined when it is the same charge.
 * The card token is not compared: it is not stored, and a retry may come with a fresh token.
 */
export function idempotencyConflict(held: PaymentRecord, req: ChargeRequest): string | undefined {
  const differs: string[] = [];
  if (held.orderId !== req.orderId) differs.push(`order_id ${held.orderId}`);
  if (held.amountMinor !== req.amountMinor || held.currency !== req.currency)
    differs.push(`amount ${held.amountMinor} ${held.currency}`);
  if (!differs.length) return undefined;
  return `idempotency_key ${req.idempotencyKey} was already used for another charge (${differs.join(", ")})`;
}

/** A decision of the payment rules: answer with this payment, or refuse with this problem. */
export type Verdict<P extends PaymentProblem["kind"]> =
  { kind: "answer"; payment: PaymentRecord } | { kind: "refuse"; problem: P; message: string };

/** What a call that could not claim the key does next, from what holds the key and the order. */
export type AfterLostClaim =
  | Verdict<"conflict" | "already_paid">
  | { kind: "wait"; why: string }
  /** A claim whose holder died (its lease ran out): resolve it from what the provider did with its key. */
  | { kind: "resolve_abandoned"; claim: PaymentRecord }
  | { kind: "claim_again" };

/**
 * Decides from what holds the key and the order (looked up after a failed claim). Waiting only reads;
 * an abandoned claim is resolved (never simply taken over: its provider call may have captured); claiming
 * again is for when the holder let go in the meantime.
 */
export function afterLostClaim(
  req: ChargeRequest,
  byKey: PaymentRecord | undefined,
  liveForOrder: PaymentRecord | undefined,
  now: Date,
): AfterLostClaim {
  const abandoned = (p: PaymentRecord) => p.state === "pending" && !!p.claimExpiresAt && p.claimExpiresAt <= now;
  if (byKey) {
    const conflict = idempotencyConflict(byKey, req);
    if (conflict) return { kind: "refuse", problem: "conflict", message: conflict };
    if (abandoned(byKey)) return { kind: "resolve_abandoned", claim: byKey };
    if (byKey.state === "pending")
      return { kind: "wait", why: `payment with idempotency_key ${req.idempotencyKey} is still being processed` };
    return { kind: "answer", payment: byKey };
  }
  if (liveForOrder?.state === "captured")
    return {
      kind: "refuse",
      problem: "already_paid",
      message: `order ${req.orderId} already paid by payment ${liveForOrder.id}`,
    };
  if (liveForOrder && abandoned(liveForOrder)) return { kind: "resolve_abandoned", claim: liveForOrder };
  if (liveForOrder) return { kind: "wait", why: `another payment for order ${req.orderId} is being processed` };
  // The holder released its claim (or abandoned it) since our attempt: try again.
  return { kind: "claim_again" };
}

/** After the captured → refunded step did not apply: what the payment's current state means. */
export function refundDecision(
  id: string,
  current: PaymentRecord | undefined,
): Verdict<"not_refundable" | "not_found"> {
  if (!current) return { kind: "refuse", problem: "not_found", message: `payment ${id} not found` };
  switch (current.state) {
    case "refunded":
      return { kind: "answer", payment: current };
    case "declined":
      return {
        kind: "refuse",
        problem: "not_refundable",
        message: `payment ${id} was declined; there is nothing to refund`,
      };
    default:
      // A capture between our two steps: the caller may retry.
      return { kind: "refuse", problem: "not_refundable", message: `payment ${id} is ${current.state}; try again` };
  }
}

/** A request the payment rules refuse, by kind; the RPC edge maps each kind to a status code. */
export class PaymentProblem extends Error {
  constructor(
    readonly kind:
      | "conflict"
      | "already_paid"
      | "in_progress"
      | "claim_lost"
      | "provider_unavailable"
      | "not_refundable"
      | "not_found",
    message: string,
  ) {
    super(message);
    this.name = "PaymentProblem";
  }
}
