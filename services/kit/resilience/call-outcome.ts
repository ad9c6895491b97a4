import { Code, ConnectError } from "@connectrpc/connect";
import { isBrokenCircuitError, isBulkheadRejectedError, isIsolatedCircuitError } from "cockatiel";
import { NoInstanceError } from "../discovery/no-instance-error";
import type { CallInProgress } from "./call-spec";
import { isCallerError, isConnectionError } from "./error-classification";
import { ServiceUnavailableError, type UnavailableReason } from "./service-unavailable-error";

/**
 * What the caller sees when a call failed: the callee's verdict unchanged, or why the target could not be
 * used (a ServiceUnavailableError, for the caller's fallback), or its own cancel.
 */
export function callOutcome(e: unknown, call: CallInProgress<unknown>): unknown {
  const target = call.spec.target;
  const { attempts, lastError, unknownOutcome } = call;
  const unavailable = (reason: UnavailableReason, code?: Code, detail?: string) =>
    new ServiceUnavailableError(target, reason, {
      attempts,
      lastError,
      outcomeUnknown: !!unknownOutcome,
      code: unknownOutcome?.code ?? code,
      detail,
    });
  if (isBrokenCircuitError(e) || isIsolatedCircuitError(e)) {
    call.metrics.rejections.inc({ target, reason: "circuit_open" });
    const breakerLast = call.policy.breaker.lastFailure;
    const last =
      lastError ?? (breakerLast && "error" in breakerLast ? ConnectError.from(breakerLast.error) : undefined);
    return new ServiceUnavailableError(target, "circuit-open", {
      attempts,
      lastError: last,
      outcomeUnknown: !!unknownOutcome,
      code: unknownOutcome?.code,
      detail: "failing fast until a probe succeeds",
    });
  }
  if (isBulkheadRejectedError(e))
    return unavailable("bulkhead-full", Code.ResourceExhausted, "too many calls in flight");
  if (call.deadline.expired()) return unavailable("deadline-exceeded", Code.DeadlineExceeded);
  if (call.deadline.cancelled.aborted)
    return new ConnectError(`call to ${target} cancelled by the caller`, Code.Canceled, undefined, undefined, e);
  if (e instanceof NoInstanceError) return unavailable("no-instance");
  // Transient failures still failing once retries are spent (or not allowed for this call).
  const code = ConnectError.from(e).code;
  if (
    isConnectionError(e) ||
    ([Code.Unavailable, Code.ResourceExhausted, Code.Aborted, Code.DeadlineExceeded].includes(code) &&
      !isCallerError(e))
  )
    return unavailable("retries-exhausted");
  // The callee's verdict (InvalidArgument, NotFound, a message over its size limit, ...) or its own
  // fault (Internal): as it came.
  return e;
}
