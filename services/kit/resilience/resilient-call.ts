import { Code, ConnectError } from "@connectrpc/connect";
import {
  decorrelatedJitterGenerator,
  ExponentialBackoff,
  handleWhen,
  isBrokenCircuitError,
  isBulkheadRejectedError,
  isIsolatedCircuitError,
  retry,
  type IBackoff,
  type IBackoffFactory,
} from "cockatiel";
import { InstanceBalancer, type Lease } from "../discovery/load-balancer";
import { NoInstanceError } from "../discovery/no-instance-error";
import type { DiscoveredInstance, ServiceDiscovery } from "../discovery/service-discovery";
import type { Logger } from "../log";
import { incomingCall } from "./deadline";
import { ejectsInstance, isCallerError, isConnectionError, isRetryable, outcomeUnknown } from "./error-classification";
import type { PolicySource } from "./policy-source";
import type { ResilienceMetrics } from "./resilience-metrics";
import { ServiceUnavailableError, type UnavailableReason } from "./service-unavailable-error";
import { TargetPolicy } from "./target-policy";

/** What one attempt gets: where to send, a signal that aborts it (its timeout, the caller giving up) and its time budget. */
export interface Attempt {
  readonly instance: DiscoveredInstance;
  readonly signal: AbortSignal;
  /** min(attempt timeout, what the caller still waits): send it as the Connect/gRPC timeout header. */
  readonly timeoutMs: number;
  /** 0 for the first attempt. */
  readonly attempt: number;
}

export interface CallSpec<T> {
  /** The target service, by its registered name. */
  target: string;
  /** Whether the call may be repeated after it may have reached the callee (see idempotency.ts). */
  idempotent: boolean;
  /** The caller's own cancel signal and budget for the whole call, retries included. */
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Longest one attempt of this call may take, when more than the target's attempt timeout (a slow method). */
  attemptTimeoutMs?: number;
  send(attempt: Attempt): Promise<T>;
}

/**
 * Runs calls to other services through discovery, load balancing and the policies of their target.
 *
 * The composition, from the wire outwards (each layer wraps the one before it):
 *   bulkhead   per attempt: caps the requests this process has on the wire to one target; an attempt
 *              waits for a slot (within its timeout) or, when the queue is full too, is refused at once.
 *              Backoff waits hold no slot.
 *   timeout    per attempt: min(the target's attempt timeout, what the caller still waits), the slot
 *              wait included; sent as the Connect/gRPC timeout header, so the callee stops when we do.
 *              A call that may not be repeated, given a timeout of its own, gets all of it in its attempt.
 *   retry      repeats retryable failures (error-classification.ts) with exponential backoff and
 *              decorrelated jitter, each time on an instance this call has not tried yet; only
 *              idempotent calls, except for requests that certainly never left (connection refused).
 *   breaker    a sampling breaker per target on the failure rate of whole calls, retries included: a
 *              transient error that a retry absorbed is no failure, and one logical call counts once.
 *              Open, it refuses calls before any attempt; after a while it lets probes through
 *              (half-open) and closes when they succeed. Only target faults count, never the caller's
 *              mistakes or its giving up.
 *   fallback   the caller's, outermost (service-client.ts): it gets the ServiceUnavailableError this
 *              produces when the breaker is open, the bulkhead full, or the retries are spent.
 * The whole call is bounded by the caller's timeout and the deadline of the call being served
 * (deadline.ts), whichever ends first; their signals cancel it.
 */
export class ResilientCaller {
  readonly #targets = new Map<string, TargetState>();

  constructor(
    private readonly deps: {
      discovery: ServiceDiscovery;
      policies: PolicySource;
      metrics: ResilienceMetrics;
      log: Logger;
    },
  ) {
    deps.policies.onChange((target) => {
      const t = this.#targets.get(target);
      if (!t) return;
      const settings = deps.policies.settingsFor(target);
      t.policy.configure(settings);
      t.balancer.configure(settings);
    });
    deps.discovery.onChange((service, instances) =>
      this.#targets.get(service)?.balancer.forgetAllBut(new Set(instances.map((i) => i.id))),
    );
  }

  /** The policies and balancer of a target (created on first use). */
  target(name: string): TargetState {
    let t = this.#targets.get(name);
    if (!t) {
      const settings = this.deps.policies.settingsFor(name);
      const { metrics, log } = this.deps;
      t = {
        policy: new TargetPolicy(name, settings, metrics, log),
        balancer: new InstanceBalancer(this.deps.discovery, name, settings, (instance, forMs) => {
          metrics.ejections.inc({ target: name });
          log.info(
            { target: name, instance: instance.id, url: instance.http, forMs },
            `instance of ${name} ejected after a failed call`,
          );
        }),
      };
      this.#targets.set(name, t);
    }
    return t;
  }

  async call<T>(spec: CallSpec<T>): Promise<T> {
    const { policy, balancer } = this.target(spec.target);
    const settings = policy.settings;
    const { metrics, log } = this.deps;
    const target = spec.target;

    // The call's deadline: the caller's timeout, or the deadline of the call we are serving, whichever is first.
    const started = Date.now();
    const incoming = incomingCall();
    const own = spec.timeoutMs && spec.timeoutMs > 0 ? started + spec.timeoutMs : undefined;
    const deadline =
      own === undefined
        ? incoming?.deadline
        : incoming?.deadline === undefined
          ? own
          : Math.min(own, incoming.deadline);
    // Signals are combined only when there is more than one (AbortSignal.any and its listeners cost a good
    // part of a fast call): the caller's and the served call's, then the deadline's.
    const expiry = deadline === undefined ? undefined : new AbortController();
    const timer = expiry && setTimeout(() => expiry.abort(), Math.max(0, deadline! - started));
    const cancelled =
      spec.signal && incoming?.signal
        ? AbortSignal.any([spec.signal, incoming.signal])
        : (spec.signal ?? incoming?.signal ?? NEVER);
    const signal = !expiry
      ? cancelled
      : cancelled === NEVER
        ? expiry.signal
        : AbortSignal.any([cancelled, expiry.signal]);
    // A caller's signal that aborts because its own deadline passed (the served call's, an AbortSignal.timeout) is a deadline too.
    const expired = () => !!expiry?.signal.aborted || (cancelled.aborted && isDeadline(cancelled.reason));
    const remaining = () => (deadline === undefined ? Infinity : deadline - Date.now());

    // A call that is never repeated gets the caller's whole budget in its one attempt: cut at the policy's
    // attempt timeout, a slow answer (a confirm waiting for its charge) would only become an unknown outcome.
    const policyLimitMs = Math.max(settings.attemptTimeoutMs, spec.attemptTimeoutMs ?? 0);
    const attemptLimitMs =
      !spec.idempotent && own !== undefined ? Math.max(policyLimitMs, spec.timeoutMs!) : policyLimitMs;

    const tried = new Set<string>();
    let attempts = 0;
    let lastError: ConnectError | undefined;
    let unknownOutcome: ConnectError | undefined;

    const attemptOnce = async (attemptNo: number): Promise<T> => {
      if (signal.aborted) throw signal.reason ?? new Error("aborted");
      const began = Date.now();
      const ms = Math.max(1, Math.min(attemptLimitMs, remaining()));
      // The attempt's timeout, cooperative (cockatiel's TimeoutPolicy semantics, without a policy object and
      // its emitters per attempt): its signal aborts at `ms` or with the call's; the attempt is not aborted
      // on return, as a REST response's body is read after the attempt returned it.
      const attempt = new AbortController();
      const attemptSignal = attempt.signal;
      let timedOut = false;
      // Settles the attempt as soon as it is aborted, wherever it waits (a bulkhead queue does not watch
      // the signal): a promise rejected by whoever aborts, cheaper than an abort listener per attempt.
      let cutOff!: (reason: unknown) => void;
      const abandoned = new Promise<never>((_, reject) => (cutOff = reject));
      const stop = (reason?: unknown) => {
        timedOut = true;
        attempt.abort(reason);
        cutOff(attemptSignal.reason);
      };
      const attemptTimer = setTimeout(stop, ms);
      const onCallAbort = () => stop(signal.reason);
      if (signal !== NEVER) signal.addEventListener("abort", onCallAbort, { once: true });
      let lease: Lease | undefined;
      try {
        const value = await Promise.race([
          policy.bulkhead.execute(async () => {
            attemptSignal.throwIfAborted();
            lease = await balancer.acquire(tried);
            tried.add(lease.instance.id);
            attempts++;
            const left = Math.max(1, ms - (Date.now() - began));
            return spec.send({ instance: lease.instance, signal: attemptSignal, timeoutMs: left, attempt: attemptNo });
          }, attemptSignal),
          abandoned,
        ]);
        lease!.release("success");
        metrics.okAttempt(target, lease!.instance.id);
        return value;
      } catch (e) {
        // Refusals before sending (no instance, bulkhead full) go on as they are, for #outcome to name.
        let err: ConnectError =
          e instanceof NoInstanceError || isBulkheadRejectedError(e) ? (e as ConnectError) : ConnectError.from(e);
        const where = lease ? `the attempt on ${lease.instance.id}` : "the wait for a free slot";
        if (expired() || (timedOut && remaining() <= 0)) {
          err = new ConnectError(
            `${target}: the caller's deadline passed during ${where}`,
            Code.DeadlineExceeded,
            undefined,
            undefined,
            e,
          );
        } else if (cancelled.aborted) {
          err = new ConnectError(`${target}: call cancelled by the caller`, Code.Canceled, undefined, undefined, e);
        } else if (timedOut || err.code === Code.DeadlineExceeded) {
          // Our timer, or the transport's own (it gets the same budget) firing a moment earlier.
          metrics.timeouts.inc({ target });
          err = new ConnectError(
            `${target}${lease ? ` instance ${lease.instance.id}` : ""} did not answer within ${ms} ms`,
            Code.DeadlineExceeded,
            undefined,
            undefined,
            e,
          );
        }
        if (e instanceof NoInstanceError) metrics.rejections.inc({ target, reason: "no_instance" });
        if (!isBulkheadRejectedError(err)) lastError = err;
        if (!lease) throw err;
        lease.release(ejectsInstance(err) ? "eject" : isCallerError(err) ? "success" : "failure");
        metrics.attempts.inc({ target, instance: lease.instance.id, outcome: Code[err.code] ?? "unknown" });
        if (outcomeUnknown(err)) unknownOutcome = err;
        throw err;
      } finally {
        clearTimeout(attemptTimer);
        if (signal !== NEVER) signal.removeEventListener("abort", onCallAbort);
      }
    };

    // The retry policy is built only once the first attempt failed (most calls never need it); it then
    // starts from that failure, so what it decides, waits and counts is as if it had run the first attempt.
    const withRetries = async (): Promise<T> => {
      let first: unknown;
      try {
        return await attemptOnce(0);
      } catch (e) {
        first = e;
      }
      const retryPolicy = retry(
        handleWhen((e) => !signal.aborted && isRetryable(e, spec.idempotent)),
        {
          maxAttempts: settings.retry.maxRetries,
          backoff: cappedBy(
            remaining,
            new ExponentialBackoff({
              generator: decorrelatedJitterGenerator,
              initialDelay: settings.retry.initialDelayMs,
              maxDelay: settings.retry.maxDelayMs,
            }),
          ),
        },
      );
      retryPolicy.onRetry((r) => {
        metrics.retries.inc({ target });
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
      return retryPolicy.execute(
        ({ attempt }) => (attempt === 0 ? Promise.reject(first) : attemptOnce(attempt)),
        signal,
      );
    };

    try {
      return await policy.breaker.execute(withRetries, signal);
    } catch (e) {
      throw this.#outcome(e, {
        target,
        attempts,
        lastError,
        unknownOutcome,
        expired: expired(),
        cancelled: cancelled.aborted,
        breakerLast: policy.breaker.lastFailure,
      });
    } finally {
      clearTimeout(timer);
    }
  }

  /** What the caller sees when the call failed: the callee's verdict unchanged, or why the target could not be used. */
  #outcome(
    e: unknown,
    s: {
      target: string;
      attempts: number;
      lastError?: ConnectError;
      unknownOutcome?: ConnectError;
      expired: boolean;
      cancelled: boolean;
      breakerLast?: { error: unknown } | { value: unknown };
    },
  ): unknown {
    const { metrics } = this.deps;
    const unavailable = (reason: UnavailableReason, code?: Code, detail?: string) =>
      new ServiceUnavailableError(s.target, reason, {
        attempts: s.attempts,
        lastError: s.lastError,
        outcomeUnknown: !!s.unknownOutcome,
        code: s.unknownOutcome?.code ?? code,
        detail,
      });
    if (isBrokenCircuitError(e) || isIsolatedCircuitError(e)) {
      metrics.rejections.inc({ target: s.target, reason: "circuit_open" });
      const last =
        s.lastError ?? (s.breakerLast && "error" in s.breakerLast ? ConnectError.from(s.breakerLast.error) : undefined);
      return new ServiceUnavailableError(s.target, "circuit-open", {
        attempts: s.attempts,
        lastError: last,
        outcomeUnknown: !!s.unknownOutcome,
        code: s.unknownOutcome?.code,
        detail: "failing fast until a probe succeeds",
      });
    }
    if (isBulkheadRejectedError(e))
      return unavailable("bulkhead-full", Code.ResourceExhausted, "too many calls in flight");
    if (s.expired) return unavailable("deadline-exceeded", Code.DeadlineExceeded);
    if (s.cancelled)
      return new ConnectError(`call to ${s.target} cancelled by the caller`, Code.Canceled, undefined, undefined, e);
    if (e instanceof NoInstanceError) return unavailable("no-instance");
    // Transient failures still failing once retries are spent (or not allowed for this call).
    const code = ConnectError.from(e).code;
    if (
      isConnectionError(e) ||
      [Code.Unavailable, Code.ResourceExhausted, Code.Aborted, Code.DeadlineExceeded].includes(code)
    )
      return unavailable("retries-exhausted");
    // The callee's verdict (InvalidArgument, NotFound, ...) or its own fault (Internal): as it came.
    return e;
  }
}

interface TargetState {
  policy: TargetPolicy;
  balancer: InstanceBalancer;
}

/** The signal of a call nobody can cancel. */
const NEVER = new AbortController().signal;

function isDeadline(reason: unknown): boolean {
  return (
    (reason instanceof ConnectError && reason.code === Code.DeadlineExceeded) ||
    (reason instanceof Error && reason.name === "TimeoutError")
  );
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
