import { abortableSleep, type CardProvider, type SettledOutcome } from "./provider";
import {
  afterLostClaim,
  PaymentProblem,
  type ChargeRequest,
  type PaymentRecord,
  type PaymentStore,
  type Settlement,
} from "./payments";

export interface ProcessPaymentDeps {
  store: PaymentStore;
  provider: CardProvider;
  /** The longest a provider call may take; then it is abandoned (nothing captured) and the call is Unavailable. */
  providerTimeoutMs: number;
  /** How long a pending claim holds before another call may take it over; longer than providerTimeoutMs. */
  claimLeaseMs: number;
  /** How long a call waits for a racing call's claim on the same key (or order) to settle. */
  pendingWaitMs: number;
  newId?: () => string;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  log?: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

/**
 * Charges at most once per idempotency key, whichever replica each call lands on and whatever crashes:
 * claim the key with a pending row, ask the provider (with the key, so it never captures twice for it),
 * then settle the row, retrying the settle until it is recorded. A call that finds the key (or the
 * order) claimed waits for that claim to settle and answers with the same payment; one that finds a
 * claim abandoned by a dead process asks the provider what it did with that key and settles it from
 * that, never charging again. A transient provider failure or a caller that gave up removes the claim,
 * so a retry starts afresh; with `giveUp` (why this is the last try) a transient failure is settled as
 * declined instead, so the key has an outcome for good. Rejects with a PaymentProblem, or with `signal.reason` once the caller gave up.
 */
export async function processPayment(
  deps: ProcessPaymentDeps,
  req: ChargeRequest,
  signal: AbortSignal,
  { giveUp }: { giveUp?: string } = {},
): Promise<PaymentRecord> {
  const { store, newId = () => crypto.randomUUID(), sleep = abortableSleep } = deps;
  const id = newId();
  const giveUpAt = Date.now() + deps.pendingWaitMs;
  let pause = 10;
  let claimNow = true;
  for (;;) {
    signal.throwIfAborted();
    if (claimNow && (await store.claim(id, req, deps.claimLeaseMs)))
      return chargeClaimed(deps, id, req, signal, giveUp);
    const byKey = await store.findByKey(req.idempotencyKey);
    const next = afterLostClaim(req, byKey, byKey ? undefined : await store.findLive(req.orderId), new Date());
    claimNow = next.kind === "claim_again" || next.kind === "resolve_abandoned";
    switch (next.kind) {
      case "answer":
        return next.payment;
      case "refuse":
        throw new PaymentProblem(next.problem, next.message);
      case "wait":
        if (Date.now() + pause > giveUpAt)
          throw new PaymentProblem(
            "in_progress",
            `${next.why} and did not settle within ${deps.pendingWaitMs} ms; try again`,
          );
        // Jitter spreads the polls of many waiters.
        await sleep(pause * (0.5 + Math.random() / 2), signal);
        pause = Math.min(pause * 2, 100);
        break;
      case "resolve_abandoned": {
        if (Date.now() > giveUpAt)
          throw new PaymentProblem(
            "in_progress",
            `the claim on idempotency_key ${req.idempotencyKey} kept changing hands; try again`,
          );
        const resolved = await resolveAbandoned(deps, next.claim);
        // Our own key, captured or declined by the dead holder's call: that is the answer.
        if (resolved?.idempotencyKey === req.idempotencyKey) return resolved;
        break;
      }
      case "claim_again":
        if (Date.now() > giveUpAt)
          throw new PaymentProblem(
            "in_progress",
            `the claim on idempotency_key ${req.idempotencyKey} kept changing hands; try again`,
          );
        // Another waiter may be taking over the same claim: do not spin on it.
        await sleep(pause * Math.random(), signal);
        pause = Math.min(pause * 2, 100);
        break;
    }
  }
}

/**
 * A claim whose holder died mid-charge: the provider says what it did with the claim's key. Captured or
 * declined settles the claim as that (announced as any settle is); nothing there means nothing was
 * charged, and the claim is removed. Whoever resolves it first wins; the rest find it settled or gone.
 */
async function resolveAbandoned(deps: ProcessPaymentDeps, claim: PaymentRecord): Promise<PaymentRecord | undefined> {
  const outcome = await deps.provider.lookup(claim.idempotencyKey);
  if (!outcome) {
    await deps.store.release(claim.id, { abandoned: true });
    return undefined;
  }
  deps.log?.warn(
    { paymentId: claim.id, idempotencyKey: claim.idempotencyKey, outcome: outcome.kind },
    "abandoned claim settled from the provider's record of its key",
  );
  return (
    (await deps.store.settle(claim.id, settlementOf(outcome), { abandoned: true })) ??
    deps.store.findByKey(claim.idempotencyKey)
  );
}

const settlementOf = (o: SettledOutcome): Settlement =>
  o.kind === "captured" ? { state: "captured" } : { state: "declined", reason: o.reason };

async function chargeClaimed(
  deps: ProcessPaymentDeps,
  id: string,
  req: ChargeRequest,
  signal: AbortSignal,
  giveUp: string | undefined,
): Promise<PaymentRecord> {
  const providerSignal = AbortSignal.any([signal, AbortSignal.timeout(deps.providerTimeoutMs)]);
  let outcome;
  try {
    outcome = await deps.provider.charge(
      {
        cardToken: req.cardToken,
        idempotencyKey: req.idempotencyKey,
        amountMinor: req.amountMinor,
        currency: req.currency,
      },
      providerSignal,
    );
  } catch (e) {
    // Aborted before the capture, or the provider could not be asked: nothing was charged under the key
    // (and if it was, the provider answers that capture the next time the key is charged).
    await deps.store.release(id);
    if (signal.aborted) throw signal.reason;
    if (providerSignal.aborted)
      throw new PaymentProblem(
        "provider_unavailable",
        `the card provider did not answer within ${deps.providerTimeoutMs} ms`,
      );
    throw e;
  }
  if (outcome.kind === "transient") {
    if (giveUp === undefined) {
      await deps.store.release(id);
      throw new PaymentProblem("provider_unavailable", outcome.reason);
    }
    outcome = { kind: "declined" as const, reason: `${giveUp}: ${outcome.reason}` };
  }
  // Settle even if the caller gave up meanwhile: the provider has decided, and a retry must see it. The
  // money has moved: keep trying until it is recorded (the database may be away for a moment).
  const settled = await untilRecorded(deps, () => deps.store.settle(id, settlementOf(outcome)), req);
  if (settled) return settled;
  // Not pending any more: someone found our claim abandoned and settled it from the provider's record.
  const now = await deps.store.byId(id);
  if (now && now.state !== "pending") return now;
  throw new PaymentProblem(
    "claim_lost",
    `the claim on idempotency_key ${req.idempotencyKey} ran out before the provider answered; try again`,
  );
}

/**
 * Runs a write that records a provider's outcome until it goes through, backing off, for as long as the
 * claim holds (after that whoever finds the claim abandoned settles it from the provider's record).
 */
async function untilRecorded<T>(deps: ProcessPaymentDeps, write: () => Promise<T>, req: ChargeRequest): Promise<T> {
  const sleep = deps.sleep ?? abortableSleep;
  const until = Date.now() + deps.claimLeaseMs;
  for (let pause = 100; ; pause = Math.min(pause * 2, 2000)) {
    try {
      return await write();
    } catch (e) {
      if (Date.now() + pause > until) {
        deps.log?.error(
          { err: e, idempotencyKey: req.idempotencyKey },
          "the provider's outcome could not be recorded while the claim held; it is settled from the provider's record when the key is next used",
        );
        throw e;
      }
      deps.log?.warn(
        { err: e, idempotencyKey: req.idempotencyKey, retryInMs: pause },
        "recording the provider's outcome failed; retrying",
      );
      await sleep(pause, new AbortController().signal);
    }
  }
}
