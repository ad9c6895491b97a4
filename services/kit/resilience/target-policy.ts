import {
  bulkhead,
  circuitBreaker,
  CircuitState,
  handleWhen,
  SamplingBreaker,
  type BulkheadPolicy,
  type CircuitBreakerPolicy,
  type IDisposable,
} from "cockatiel";
import { ConnectError } from "@connectrpc/connect";
import type { Logger } from "../log";
import { countsAsFailure } from "./error-classification";
import type { PolicySettings } from "./policy-settings";
import type { ResilienceMetrics } from "./resilience-metrics";

const STATE_NAMES: Record<CircuitState, string> = {
  [CircuitState.Closed]: "closed",
  [CircuitState.Open]: "open",
  [CircuitState.HalfOpen]: "half-open",
  [CircuitState.Isolated]: "isolated",
};

/**
 * The long-lived part of the policies for one target service: the bulkhead and the circuit breaker,
 * which must be shared by every call to count anything. (Retry and the per-attempt timeout hold no state
 * and are made per call.) New settings rebuild what they touch; the breaker keeps its state and samples
 * across the change when its window did not change, so a new threshold judges the traffic already seen.
 */
export class TargetPolicy {
  bulkhead!: BulkheadPolicy;
  breaker!: CircuitBreakerPolicy;
  #settings!: PolicySettings;
  #listeners: IDisposable[] = [];

  constructor(
    readonly target: string,
    settings: PolicySettings,
    private readonly metrics: ResilienceMetrics,
    private readonly log: Logger,
  ) {
    this.configure(settings);
  }

  get settings(): PolicySettings {
    return this.#settings;
  }

  get state(): "closed" | "open" | "half-open" | "isolated" {
    return STATE_NAMES[this.breaker.state] as "closed";
  }

  configure(settings: PolicySettings): void {
    const before = this.#settings;
    this.#settings = settings;
    if (!before || JSON.stringify(before.bulkhead) !== JSON.stringify(settings.bulkhead)) {
      // Calls already admitted finish under the old bulkhead; new ones queue for the new one.
      this.bulkhead = bulkhead(settings.bulkhead.maxConcurrent, settings.bulkhead.maxQueued);
      this.bulkhead.onReject(() => this.metrics.rejections.inc({ target: this.target, reason: "bulkhead_full" }));
    }
    if (!before || JSON.stringify(before.breaker) !== JSON.stringify(settings.breaker)) {
      const carried =
        before && before.breaker.windowMs === settings.breaker.windowMs ? this.breaker.toJSON() : undefined;
      this.#replaceBreaker(settings.breaker, carried);
    }
  }

  #replaceBreaker(s: PolicySettings["breaker"], initialState: unknown): void {
    for (const l of this.#listeners) l.dispose();
    const breaker = circuitBreaker(handleWhen(countsAsFailure), {
      halfOpenAfter: s.halfOpenAfterMs,
      breaker: new SamplingBreaker({
        threshold: s.failureRateThreshold,
        duration: s.windowMs,
        // SamplingBreaker wants a rate; half a call below the minimum keeps float rounding from
        // moving the line: it may open once the window holds minimumCalls attempts.
        minimumRps: ((s.minimumCalls - 0.5) * 1000) / s.windowMs,
      }),
      // Any failed probe opens it again.
      halfOpenSampling: { calls: s.halfOpenCalls, threshold: 0 },
      initialState,
    });
    this.breaker = breaker;
    this.metrics.breakerState.set({ target: this.target }, breaker.state);
    this.#listeners = [
      breaker.onStateChange((state) => {
        this.metrics.breakerState.set({ target: this.target }, state);
        const fields = { target: this.target, state: STATE_NAMES[state] };
        if (state === CircuitState.Open) {
          const last = breaker.lastFailure;
          const why = last && "error" in last ? ConnectError.from(last.error).message : undefined;
          this.log.warn(
            { ...fields, lastFailure: why, halfOpenAfterMs: s.halfOpenAfterMs },
            `circuit breaker for ${this.target} opened: calls fail fast`,
          );
        } else if (state === CircuitState.HalfOpen)
          this.log.info(fields, `circuit breaker for ${this.target} half-open: letting a probe through`);
        else this.log.info(fields, `circuit breaker for ${this.target} ${STATE_NAMES[state]}`);
      }),
    ];
  }
}
