import type { ConnectError } from "@connectrpc/connect";
import type { InstanceBalancer } from "../discovery/load-balancer";
import type { DiscoveredInstance } from "../discovery/service-discovery";
import type { CallDeadline } from "./call-deadline";
import type { ResilienceMetrics } from "./resilience-metrics";
import type { TargetPolicy } from "./target-policy";

/** What a caller asks of ResilientCaller.call. */
export interface CallSpec<T> {
  /** The target service, by its registered name. */
  target: string;
  /** What the call is (/pkg.Service/Method, or a REST method), the name of its attempts' spans. */
  name?: string;
  /** Whether the call may be repeated after it may have reached the callee (see idempotency.ts). */
  idempotent: boolean;
  /** The caller's own cancel signal and budget for the whole call, retries included. */
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Longest one attempt of this call may take, when more than the target's attempt timeout (a slow method). */
  attemptTimeoutMs?: number;
  send(attempt: Attempt): Promise<T>;
}

/** What one attempt gets: where to send, a signal that aborts it (its timeout, the caller giving up) and its time budget. */
export interface Attempt {
  readonly instance: DiscoveredInstance;
  readonly signal: AbortSignal;
  /** min(attempt timeout, what the caller still waits): send it as the Connect/gRPC timeout header. */
  readonly timeoutMs: number;
  /** 0 for the first attempt. */
  readonly attempt: number;
}

/** One call in progress: what its attempts share, and what they learned for the outcome. */
export interface CallInProgress<T> {
  readonly spec: CallSpec<T>;
  readonly policy: TargetPolicy;
  readonly balancer: InstanceBalancer;
  readonly deadline: CallDeadline;
  readonly metrics: ResilienceMetrics;
  /** The longest one attempt may take. */
  readonly attemptLimitMs: number;
  /** Instances this call has sent to: a retry goes elsewhere while there is elsewhere. */
  readonly tried: Set<string>;
  /** Attempts that reached an instance. */
  attempts: number;
  /** The last failure of an attempt (not a bulkhead refusal). */
  lastError?: ConnectError;
  /** An attempt failed in a way that may have left the callee done the work (outcomeUnknown). */
  unknownOutcome?: ConnectError;
}
