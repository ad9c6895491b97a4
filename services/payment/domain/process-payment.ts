import { abortableSleep, type CardProvider } from "./provider";
import { afterLostClaim, PaymentProblem, type ChargeRequest, type PaymentRecord, type PaymentStore } from "./payments";

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
}

/**
 * Charges at most once per idempotency key, whichever replica each call lands on:
 * claim the key with a pending row, ask the provider, then settle the row. A call that finds the key
 * (or the order) claimed waits for that claim to settle and answers with the same payment.
 * A transient provider failure or a caller that gave up removes the claim, so a retry starts afresh.
 * Rejects with a PaymentProblem, or with `signal.reason` once the caller gave up.
 */
export async function processPayment(deps: ProcessPaymentDeps, req: ChargeRequest, signal: AbortSignal): Promise<PaymentRecord> {
  const { store, newId = () => crypto.randomUUID(), sleep = abortableSleep } = deps;
  const id = newId();
  const giveUpAt = Date.now() + deps.pendingWaitMs;
  let pause = 10;
  let claimNow = true;
  for (;;) {
    signal.throwIfAborted();
    if (claimNow && (await store.claim(id, req, deps.claimLeaseMs))) return chargeClaimed(deps, id, req, signal);
    const byKey = await store.findByKey(req.idempotencyKey);
    const next = afterLostClaim(req, byKey, byKey ? undefined : await store.findLive(req.orderId), new Date());
    claimNow = next.kind === "claim_again";
    switch (next.kind) {
      case "answer":
        return next.payment;
      case "conflict":
        throw new PaymentProblem("conflict", next.message);
      case "already_paid":
        throw new PaymentProblem("already_paid", next.message);
      case "wait":
        if (Date.now() + pause > giveUpAt)
          throw new PaymentProblem("in_progress", `${next.why} and did not settle within ${deps.pendingWaitMs} ms; try again`);
        // Jitter spreads the polls of many waiters.
        await sleep(pause * (0.5 + Math.random() / 2), signal);
        pause = Math.min(pause * 2, 100);
        break;
      case "claim_again":
        if (Date.now() > giveUpAt) throw new PaymentProblem("in_progress", `the claim on idempotency_key ${req.idempotencyKey} kept changing hands; try again`);
        // Another waiter may be taking over the same abandoned claim: do not spin on it.
        await sleep(pause * Math.random(), signal);
        pause = Math.min(pause * 2, 100);
        break;
    }
  }
}

async function chargeClaimed(deps: ProcessPaymentDeps, id: string, req: ChargeRequest, signal: AbortSignal): Promise<PaymentRecord> {
  const providerSignal = AbortSignal.any([signal, AbortSignal.timeout(deps.providerTimeoutMs)]);
  let outcome;
  try {
    outcome = await deps.provider.charge(req.cardToken, providerSignal);
  } catch (e) {
    // Aborted before the capture: nothing was charged, so the key is free for a retry.
    await deps.store.release(id);
    if (signal.aborted) throw signal.reason;
    if (providerSignal.aborted) throw new PaymentProblem("provider_unavailable", `the card provider did not answer within ${deps.providerTimeoutMs} ms`);
    throw e;
  }
  if (outcome.kind === "transient") {
    await deps.store.release(id);
    throw new PaymentProblem("provider_unavailable", outcome.reason);
  }
  // Settle even if the caller gave up meanwhile: the provider has decided, and a retry must see it.
  const settled = await deps.store.settle(id, outcome.kind === "captured" ? { state: "captured" } : { state: "declined", reason: outcome.reason });
  if (!settled)
    throw new PaymentProblem("claim_lost", `the claim on idempotency_key ${req.idempotencyKey} ran out before the provider answered; try again`);
  return settled;
}
