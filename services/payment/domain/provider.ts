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
  | { kind: "captured"; delayMs: number }
  | { kind: "declined"; reason: string }
  | { kind: "transient"; reason: string };

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

/** A card provider: charges a token, or rejects with the signal's reason if aborted before it captured. */
export interface CardProvider {
  charge(cardToken: string, signal: AbortSignal): Promise<ProviderOutcome>;
}

/** The simulated provider: the outcome of `providerOutcome`, after its delay. */
export function simulatedProvider({ sleep = abortableSleep }: { sleep?: (ms: number, signal: AbortSignal) => Promise<void> } = {}): CardProvider {
  return {
    async charge(cardToken, signal) {
      signal.throwIfAborted();
      const outcome = providerOutcome(cardToken);
      if (outcome.kind === "captured" && outcome.delayMs) await sleep(outcome.delayMs, signal);
      // The capture happens here, at the end: an abort during the delay left nothing captured.
      signal.throwIfAborted();
      return outcome;
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
