// Calls that survive faults: deadlines, idempotency, policies per target (timeout, retry, breaker,
// bulkhead) loaded from NATS KV, and the error a caller's fallback receives.
export { ResilientCaller } from "./resilient-call";
export type { CallSpec, Attempt } from "./call-spec";
export { remainingMs, incomingCall, withIncomingCall } from "./deadline";
export type { IncomingCall } from "./deadline";
export { IDEMPOTENCY_KEY_HEADER, IDEMPOTENCY_KEY_FIELD } from "./idempotency";
export { DEFAULT_POLICY_SETTINGS, parsePolicyOverrides, applyOverrides } from "./policy-settings";
export type { PolicySettings, PolicyOverrides } from "./policy-settings";
export { staticPolicies, kvPolicies } from "./policy-source";
export type { PolicySource } from "./policy-source";
export { createResilienceMetrics } from "./resilience-metrics";
export type { ResilienceMetrics } from "./resilience-metrics";
export { ServiceUnavailableError, isServiceUnavailable } from "./service-unavailable-error";
export type { UnavailableReason } from "./service-unavailable-error";
export { isRetryable, isCallerError } from "./error-classification";
