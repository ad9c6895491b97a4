import { Counter, Gauge, type Registry } from "prom-client";

/** The client side of calls between services, per target service, in the service's registry (served at /metrics). */
export interface ResilienceMetrics {
  /** 0 closed, 1 open, 2 half-open, 3 isolated. */
  readonly breakerState: Gauge<"target">;
  readonly attempts: Counter<"target" | "instance" | "outcome">;
  readonly retries: Counter<"target">;
  readonly timeouts: Counter<"target">;
  /** Calls refused without trying: circuit_open, bulkhead_full, no_instance. */
  readonly rejections: Counter<"target" | "reason">;
  readonly ejections: Counter<"target">;
  readonly fallbacks: Counter<"target">;
}

export function createResilienceMetrics(registry: Registry): ResilienceMetrics {
  const existing = registry.getSingleMetric("rpc_client_breaker_state");
  if (existing) throw new Error("resilience metrics are already registered in this registry: create one ServiceClients per registry");
  return {
    breakerState: new Gauge({ name: "rpc_client_breaker_state", help: "Circuit breaker per target service: 0 closed, 1 open, 2 half-open, 3 isolated", labelNames: ["target"], registers: [registry] }),
    attempts: new Counter({ name: "rpc_client_attempts_total", help: "Attempts of outgoing calls, by target, instance and outcome (ok or a Connect code)", labelNames: ["target", "instance", "outcome"], registers: [registry] }),
    retries: new Counter({ name: "rpc_client_retries_total", help: "Attempts repeated after a retryable failure", labelNames: ["target"], registers: [registry] }),
    timeouts: new Counter({ name: "rpc_client_timeouts_total", help: "Attempts cut off by their timeout", labelNames: ["target"], registers: [registry] }),
    rejections: new Counter({ name: "rpc_client_rejections_total", help: "Calls refused before any attempt: circuit_open, bulkhead_full, no_instance", labelNames: ["target", "reason"], registers: [registry] }),
    ejections: new Counter({ name: "rpc_client_ejections_total", help: "Instances taken out of rotation after a failed call", labelNames: ["target"], registers: [registry] }),
    fallbacks: new Counter({ name: "rpc_client_fallbacks_total", help: "Calls answered by the caller's fallback", labelNames: ["target"], registers: [registry] }),
  };
}
