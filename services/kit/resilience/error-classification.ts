import { Code, ConnectError } from "@connectrpc/connect";
import { isBulkheadRejectedError, isTaskCancelledError } from "cockatiel";
import { NoInstanceError } from "../discovery/no-instance-error";

/**
 * How the policies treat a failed attempt. Three questions, answered from the error alone:
 * does it count against the target's circuit breaker, may the call be sent again, and does it take the
 * instance that produced it out of rotation. The answer to "what did the callee say" is a Connect code;
 * below it, connection failures are told apart by the system error code in the cause chain.
 */

/** The request itself is wrong: malformed, out of range, or for a method the callee does not have. */
const BAD_REQUEST = [Code.InvalidArgument, Code.OutOfRange, Code.Unimplemented];
/** The callee's state, or who the caller is, forbids it. */
const FORBIDDEN = [
  Code.NotFound,
  Code.AlreadyExists,
  Code.FailedPrecondition,
  Code.PermissionDenied,
  Code.Unauthenticated,
];
/**
 * Errors that say the caller was wrong, or the state forbids it: the target is healthy, and asking again
 * gives the same answer. The platform's one list of them: a call is not retried (isRetryable), an event
 * handler's failure is not redelivered (kit/events), a remote step is refused, all by isCallerError.
 */
const CALLER_ERRORS: ReadonlySet<Code> = new Set([...BAD_REQUEST, ...FORBIDDEN]);

/** Transient by definition (gRPC status semantics); DeadlineExceeded only when the call is idempotent. */
const RETRYABLE = new Set([Code.Unavailable, Code.ResourceExhausted, Code.Aborted, Code.DeadlineExceeded]);

/** The target is unwell: these count against its breaker. */
const TARGET_FAULTS = new Set([
  Code.Unavailable,
  Code.DeadlineExceeded,
  Code.ResourceExhausted,
  Code.Internal,
  Code.Unknown,
  Code.DataLoss,
]);

/**
 * ResourceExhausted for a message over a size limit (Connect's readMaxBytes and writeMaxBytes, gRPC's
 * maximum message size, NATS's max_payload), told by the message those libraries give it: the same
 * request gets the same answer, unlike a quota or a full queue, so it is the caller's problem.
 */
const SIZE_REFUSAL = /\blarger than\b.*\b(max|readMaxBytes|writeMaxBytes|max_payload)\b/i;

export function isSizeRefusal(e: unknown): boolean {
  const err = ConnectError.from(e);
  return err.code === Code.ResourceExhausted && SIZE_REFUSAL.test(err.rawMessage);
}

/** A request that failed with one of these never reached a server (no connection was made). */
const NOT_CONNECTED = new Set([
  "ECONNREFUSED",
  "ConnectionRefused",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  // NATS: nothing subscribes to the request's subject (rpc/nats/nats-unary-call.ts).
  "NO_RESPONDERS",
]);
/** A connection that broke: the request may or may not have been handled. */
const BROKEN = new Set([
  "ECONNRESET",
  "ConnectionClosed",
  "EPIPE",
  "ECONNABORTED",
  "ETIMEDOUT",
  "UND_ERR_SOCKET",
  "ERR_STREAM_PREMATURE_CLOSE",
]);

/** The system error code of a connection failure anywhere in the cause chain, if there is one. */
export function connectionErrorCode(e: unknown): string | undefined {
  const seen = new Set<unknown>();
  for (let x = e; x instanceof Error && !seen.has(x); x = (x as Error).cause) {
    seen.add(x);
    const code = (x as { code?: unknown }).code;
    if (typeof code === "string" && (NOT_CONNECTED.has(code) || BROKEN.has(code))) return code;
  }
  return undefined;
}

export function isConnectionError(e: unknown): boolean {
  return connectionErrorCode(e) !== undefined;
}

/** The request certainly reached no server: sending it again is safe even for a call with side effects (gRPC's "transparent retry"). */
export function neverSent(e: unknown): boolean {
  if (e instanceof NoInstanceError) return true;
  const code = connectionErrorCode(e);
  return code !== undefined && NOT_CONNECTED.has(code);
}

/** Our own bulkhead said no, or the wait for it was cancelled: nothing about the target's health. */
function isLocalRefusal(e: unknown): boolean {
  return isBulkheadRejectedError(e) || isTaskCancelledError(e);
}

function codeOf(e: unknown): Code {
  return ConnectError.from(e).code;
}

/** Whether the failure counts against the target's circuit breaker. A caller's mistake or its own cancel never does. */
export function countsAsFailure(e: unknown): boolean {
  if (isLocalRefusal(e)) return false;
  if (isConnectionError(e) || e instanceof NoInstanceError) return true;
  return TARGET_FAULTS.has(codeOf(e)) && !isSizeRefusal(e);
}

/**
 * Whether an attempt that failed with `e` may be repeated. Anything is repeated that never left this
 * process; otherwise only transient codes, and only when the call is idempotent (by its method's
 * idempotency_level or an idempotency key): a retried side effect must be safe to do twice.
 */
export function isRetryable(e: unknown, idempotent: boolean): boolean {
  if (isLocalRefusal(e)) return false;
  if (neverSent(e)) return true;
  if (!idempotent) return false;
  if (isConnectionError(e)) return true;
  return RETRYABLE.has(codeOf(e)) && !isSizeRefusal(e);
}

/** Whether the instance that produced `e` should be taken out of rotation for a while. */
export function ejectsInstance(e: unknown): boolean {
  if (e instanceof NoInstanceError) return false;
  return isConnectionError(e) || codeOf(e) === Code.Unavailable;
}

/**
 * Whether the callee may have acted although the call failed: a timeout, a broken connection, a
 * conflict with a concurrent call (Aborted), a server fault. Unavailable and ResourceExhausted are
 * refusals: nothing was done.
 */
export function outcomeUnknown(e: unknown): boolean {
  if (neverSent(e)) return false;
  if (isConnectionError(e)) return true;
  const code = codeOf(e);
  return (
    code === Code.DeadlineExceeded ||
    code === Code.Aborted ||
    code === Code.Internal ||
    code === Code.Unknown ||
    code === Code.DataLoss
  );
}

/** Whether the error is a verdict of the callee about the request (never retried, never a breaker failure). */
export function isCallerError(e: unknown): boolean {
  return !isConnectionError(e) && (CALLER_ERRORS.has(codeOf(e)) || isSizeRefusal(e));
}

/** The Connect code an HTTP status of a REST service stands for, or undefined for a success or a caller error. */
export function codeForHttpStatus(status: number): Code | undefined {
  if (status === 429) return Code.ResourceExhausted;
  if (status === 502 || status === 503) return Code.Unavailable;
  if (status === 504) return Code.DeadlineExceeded;
  if (status === 501) return Code.Unimplemented;
  if (status >= 500) return Code.Internal;
  return undefined;
}
