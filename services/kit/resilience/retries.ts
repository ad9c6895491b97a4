import { ConnectError } from "@connectrpc/connect";
import {
  decorrelatedJitterGenerator,
  ExponentialBackoff,
  handleWhen,
  retry,
  type IBackoff,
  type IBackoffFactory,
} from "cockatiel";
import type { Logger } from "../log";
import { attempt } from "./attempt";
import type { CallInProgress } from "./call-spec";
import { isRetryable } from "./error-classification";
import { spanEvent } from "../tracing";

/**
 * The call's attempts: the first, then, if it failed in a way that may be repeated (error-classification.ts),
 * more with exponential backoff and decorrelated jitter, none of them waiting past the call's deadline.
 * The retry policy is built only once the first attempt failed (most calls never need it); it then starts
 * from that failure, so what it decides, waits and counts is as if it had run the first attempt.
 */
export async function withRetries<T>(call: CallInProgress<T>, log: Logger): Promise<T> {
  let first: unknown;
  try {
    return await attempt(call, 0);
  } catch (e) {
    first = e;
  }
  const { spec, deadline, metrics } = call;
  const { target } = spec;
  const settings = call.policy.settings.retry;
  const retryPolicy = retry(
    handleWhen((e) => !deadline.signal.aborted && isRetryable(e, spec.idempotent)),
    {
      maxAttempts: settings.maxRetries,
      backoff: cappedBy(
        () => deadline.remaining(),
        new ExponentialBackoff({
          generator: decorrelatedJitterGenerator,
          initialDelay: settings.initialDelayMs,
          maxDelay: settings.maxDelayMs,
        }),
      ),
    },
  );
  retryPolicy.onRetry((r) => {
    metrics.retries.inc({ target });
    spanEvent("retry", {
      "shop.attempt": r.attempt,
      "shop.delay_ms": Math.round(r.delay),
      "error.type": "error" in r ? String(ConnectError.from(r.error).code) : "",
    });
    if (log.isLevelEnabled("debug"))
      log.debug(
        {
          target,
          attempt: r.attempt,
          delayMs: Math.round(r.delay),
          error: "error" in r ? ConnectError.from(r.error).message : undefined,
        },
        `retrying call to ${target}`,
      );
  });
  return retryPolicy.execute(({ attempt: n }) => (n === 0 ? Promise.reject(first) : attempt(call, n)), deadline.signal);
}

/** A backoff whose waits never run past the call's deadline (cockatiel's retry delay cannot be aborted). */
function cappedBy<C>(remaining: () => number, inner: IBackoffFactory<C>): IBackoffFactory<C> {
  const wrap = (b: IBackoff<C>): IBackoff<C> => ({
    get duration() {
      return Math.max(0, Math.min(b.duration, remaining() - 1));
    },
    next: (ctx: C) => wrap(b.next(ctx)),
  });
  return { next: (ctx: C) => wrap(inner.next(ctx)) };
}
