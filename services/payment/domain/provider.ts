/**
 * The simulated card provider. The card token alone decides the outcome, so tests and demos are
 * deterministic:
 *   tok_success   captured
 *   tok_declined  declined, not retryable
 *   tok_transient fails with a transient error (the caller may retry)
 *   tok_slow      captured after SLOW_MS; a caller that gives up before then captures nothing
 * Any other token is declined as unknown.
 */
export const TEST_TOKENS = ["tok_success", "tok_declined", "tok_transient", "tok_slow"] as const;

export const SLOW_MS = 3000;

export type ProviderOutcome =
  { kind: "captured"; delayMs: number } | { kind: "declined"; reason: string } | { kind: "transient"; reason: string };

export function providerOutcome(cardToken: string): ProviderOutcome {
  switch (cardToken) {
    case "tok_success":
      return { kind: "captured", delayMs: 0 };
    case "tok_slow":
      return { kind: "captured", delayMs: SLOW_MS };
    case "tok_declined":
      return { kind: "declined", reason: "card declined by issuer" };
    case "tok_transient":
      return { kind: "transient", reason: "provider temporarily unavailable" };
    default:
      return { kind: "declined", reason: "unknown card token" };
  }
}

/** What the provider is asked to charge: the card, the amount, and the key that makes a repeat harmless. */
export interface ProviderCharge {
  cardToken: string;
  idempotencyKey: string;
  amountMinor: bigint;
  currency: string;
}

/** What a provider did with a key: captured or declined (a transient failure leaves no trace). */
export type SettledOutcome = Extract<ProviderOutcome, { kind: "captured" | "declined" }>;

/**
 * A card provider, as real ones behave: the idempotency key travels with every charge, and a charge
 * with a key seen before answers what was done the first time instead of charging again. `charge`
 * rejects with the signal's reason if aborted before it captured; `lookup` tells what happened to a key,
 * if anything (a caller that lost the answer asks instead of charging again).
 */
export interface CardProvider {
  charge(charge: ProviderCharge, signal: AbortSignal): Promise<ProviderOutcome>;
  lookup(idempotencyKey: string): Promise<SettledOutcome | undefined>;
}

/** The provider's own book of charges by key (db/provider-ledger.ts): it survives whoever asked. */
export interface ProviderLedger {
  find(idempotencyKey: string): Promise<SettledOutcome | undefined>;
  /** Records the outcome under the key unless one is there already; returns the one that holds. */
  record(charge: ProviderCharge, outcome: SettledOutcome): Promise<SettledOutcome>;
}

/** The simulated provider: the outcome of `providerOutcome`, after its delay, recorded once per key. */
export function simulatedProvider({
  ledger,
  sleep = abortableSleep,
}: {
  ledger: ProviderLedger;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}): CardProvider {
  return {
    async charge(charge, signal) {
      signal.throwIfAborted();
      const known = await ledger.find(charge.idempotencyKey);
      if (known) return known;
      const outcome = providerOutcome(charge.cardToken);
      if (outcome.kind === "transient") return outcome;
      if (outcome.kind === "captured" && outcome.delayMs) await sleep(outcome.delayMs, signal);
      // The capture happens here, at the end: an abort during the delay left nothing captured.
      signal.throwIfAborted();
      return ledger.record(charge, outcome.kind === "captured" ? { kind: "captured", delayMs: 0 } : outcome);
    },
    lookup: (key) => ledger.find(key),
  };
}

/** A ledger in memory, for tests of the rules above the provider. */
export function memoryLedger(): ProviderLedger & { readonly entries: Map<string, SettledOutcome> } {
  const entries = new Map<string, SettledOutcome>();
  return {
    entries,
    find: async (key) => entries.get(key),
    async record(charge, outcome) {
      if (!entries.has(charge.idempotencyKey)) entries.set(charge.idempotencyKey, outcome);
      return entries.get(charge.idempotencyKey)!;
    },
  };
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
