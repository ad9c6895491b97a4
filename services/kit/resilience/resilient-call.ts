import { InstanceBalancer } from "../discovery/load-balancer";
import type { ServiceDiscovery } from "../discovery/service-discovery";
import type { Logger } from "../log";
import { CallDeadline } from "./call-deadline";
import { callOutcome } from "./call-outcome";
import type { CallInProgress, CallSpec } from "./call-spec";
import type { PolicySource } from "./policy-source";
import type { ResilienceMetrics } from "./resilience-metrics";
import { withRetries } from "./retries";
import { TargetPolicy } from "./target-policy";
import { ServiceUnavailableError } from "./service-unavailable-error";
import { spanEvent } from "../tracing";

export type { Attempt, CallSpec } from "./call-spec";

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
          spanEvent("instance ejected", { "shop.instance": instance.id, "shop.ejected_ms": forMs });
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
    const deadline = new CallDeadline(spec);
    // A call that is never repeated gets the caller's whole budget in its one attempt: cut at the policy's
    // attempt timeout, a slow answer (a confirm waiting for its charge) would only become an unknown outcome.
    const policyLimitMs = Math.max(policy.settings.attemptTimeoutMs, spec.attemptTimeoutMs ?? 0);
    const call: CallInProgress<T> = {
      spec,
      policy,
      balancer,
      deadline,
      metrics: this.deps.metrics,
      attemptLimitMs:
        !spec.idempotent && deadline.ownTimeout ? Math.max(policyLimitMs, spec.timeoutMs!) : policyLimitMs,
      tried: new Set(),
      attempts: 0,
    };
    try {
      return await policy.breaker.execute(() => withRetries(call, this.deps.log), deadline.signal);
    } catch (e) {
      const outcome = callOutcome(e, call);
      if (outcome instanceof ServiceUnavailableError)
        spanEvent("target unavailable", { "shop.reason": outcome.reason, "shop.attempts": call.attempts });
      throw outcome;
    } finally {
      deadline.end();
    }
  }
}

interface TargetState {
  policy: TargetPolicy;
  balancer: InstanceBalancer;
}
