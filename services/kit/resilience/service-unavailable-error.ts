import { Code, ConnectError } from "@connectrpc/connect";

/**
 * Why a call to another service got no answer worth passing on:
 *  - circuit-open: the target's breaker is open (or half-open and busy probing); nothing was sent.
 *  - bulkhead-full: too many calls to the target in flight and queued; nothing was sent.
 *  - no-instance: nothing of that name is registered (after retrying, when allowed).
 *  - retries-exhausted: every attempt allowed failed transiently (one attempt when the call may not be
 *    repeated: no idempotency_level, no idempotency key).
 *  - deadline-exceeded: the caller's own deadline ran out between or during attempts.
 */
export type UnavailableReason =
  "circuit-open" | "bulkhead-full" | "no-instance" | "retries-exhausted" | "deadline-exceeded";

/**
 * The target service could not be used: what a caller's fallback handles (the order saga's
 * PAYMENT_PENDING path, say), as opposed to the target's verdict on the request (InvalidArgument,
 * FailedPrecondition, ..., passed through unchanged).
 *
 * Its code is chosen for a caller that must know whether the callee may have acted:
 * Unavailable (or ResourceExhausted for bulkhead-full) when no attempt can have done anything, else the
 * code of the attempt whose outcome is unknown (DeadlineExceeded, Aborted, ...). Check with
 * `isServiceUnavailable(e)`, or `instanceof`; `ConnectError.from(e)` keeps the class.
 */
export class ServiceUnavailableError extends ConnectError {
  /** ConnectError's own instanceof check matches by name; subclasses need the ordinary prototype check. */
  static override [Symbol.hasInstance](v: unknown): boolean {
    return typeof v === "object" && v !== null && Object.prototype.isPrototypeOf.call(this.prototype, v);
  }
  constructor(
    /** The target service, by name. */
    readonly service: string,
    readonly reason: UnavailableReason,
    opts: { attempts: number; lastError?: ConnectError; outcomeUnknown: boolean; code?: Code; detail?: string },
  ) {
    const last = opts.lastError ? `; last error: [${Code[opts.lastError.code]}] ${opts.lastError.rawMessage}` : "";
    super(
      `${service} unavailable (${reason}${opts.detail ? `: ${opts.detail}` : ""}) after ${opts.attempts} attempt${opts.attempts === 1 ? "" : "s"}${last}`,
      opts.code ?? (reason === "bulkhead-full" ? Code.ResourceExhausted : Code.Unavailable),
      undefined,
      undefined,
      opts.lastError,
    );
    this.attempts = opts.attempts;
    this.lastError = opts.lastError;
    this.outcomeUnknown = opts.outcomeUnknown;
  }

  /** Attempts sent (or tried) before giving up; 0 when refused up front. */
  readonly attempts: number;
  readonly lastError?: ConnectError;
  /** Whether some attempt may have been acted on by the callee (a timeout, a broken connection, ...). */
  readonly outcomeUnknown: boolean;
}

/** Whether `e` says the target (optionally: this one) could not be used, rather than what it answered. */
export function isServiceUnavailable(e: unknown, service?: string): e is ServiceUnavailableError {
  return e instanceof ServiceUnavailableError && (service === undefined || e.service === service);
}
