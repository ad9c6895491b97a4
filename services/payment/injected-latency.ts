import { Code, ConnectError } from "@connectrpc/connect";
import type { Logger } from "../kit";
import { remainingMs } from "../kit/resilience";
import { abortableSleep, type CardProvider } from "./domain/provider";

/**
 * PAYMENT_INJECT_LATENCY_MS: every charge of this instance waits that long before the provider is
 * asked, as a slow replica would (demos and resilience tests). The wait ends as soon as the call's
 * signal aborts, which is the caller's deadline arriving through the timeout header: that is logged
 * with the deadline the call came with, so the propagation can be seen from outside.
 */
export function withInjectedLatency(provider: CardProvider, ms: number, log: Logger): CardProvider {
  if (ms <= 0) return provider;
  return {
    lookup: (key) => provider.lookup(key),
    async charge(charge, signal) {
      const callerWaitsMs = remainingMs();
      try {
        await abortableSleep(ms, signal);
      } catch (e) {
        const reason =
          signal.reason instanceof ConnectError ? Code[signal.reason.code] : (signal.reason as Error | undefined)?.name;
        log.info(
          { injectedLatencyMs: ms, callerWaitsMs, reason },
          "charge abandoned during injected latency: the caller gave up",
        );
        throw e;
      }
      return provider.charge(charge, signal);
    },
  };
}
