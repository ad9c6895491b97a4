/**
 * The simulated card provider. The card token alone decides the outcome, so tests and demos are
 * deterministic:
 *   tok_success   captured
 *   tok_declined  declined, not retryable
 *   tok_transient fails with a transient error (the caller may retry)
 *   tok_slow      captured after SLOW_MS
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
