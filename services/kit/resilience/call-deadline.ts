import { Code, ConnectError } from "@connectrpc/connect";
import { incomingCall } from "./deadline";

/** The signal of a call nobody can cancel. */
export const NEVER = new AbortController().signal;

/**
 * When one outgoing call (retries included) must end, and the signals that end it: the caller's own
 * timeout or the deadline of the call being served (deadline.ts), whichever is first; the caller's
 * signal or the served call's.
 */
export class CallDeadline {
  /** Epoch ms after which nobody waits for this call; undefined: no deadline. */
  readonly at: number | undefined;
  /** The caller's own timeout was given (not only inherited from the served call). */
  readonly ownTimeout: boolean;
  /** Aborts when the caller (or the served call's caller) cancels. */
  readonly cancelled: AbortSignal;
  /** Aborts on cancellation or at the deadline. */
  readonly signal: AbortSignal;
  readonly #expiry: AbortController | undefined;
  readonly #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(spec: { signal?: AbortSignal; timeoutMs?: number }) {
    const started = Date.now();
    const incoming = incomingCall();
    const own = spec.timeoutMs && spec.timeoutMs > 0 ? started + spec.timeoutMs : undefined;
    this.ownTimeout = own !== undefined;
    this.at =
      own === undefined
        ? incoming?.deadline
        : incoming?.deadline === undefined
          ? own
          : Math.min(own, incoming.deadline);
    // Signals are combined only when there is more than one (AbortSignal.any and its listeners cost a good
    // part of a fast call): the caller's and the served call's, then the deadline's.
    const expiry = this.at === undefined ? undefined : new AbortController();
    this.#expiry = expiry;
    this.#timer = expiry && setTimeout(() => expiry.abort(), Math.max(0, this.at! - started));
    this.cancelled =
      spec.signal && incoming?.signal
        ? AbortSignal.any([spec.signal, incoming.signal])
        : (spec.signal ?? incoming?.signal ?? NEVER);
    this.signal = !expiry
      ? this.cancelled
      : this.cancelled === NEVER
        ? expiry.signal
        : AbortSignal.any([this.cancelled, expiry.signal]);
  }

  /** The deadline passed: ours, or the caller's signal aborted because its own deadline did (an AbortSignal.timeout). */
  expired(): boolean {
    return !!this.#expiry?.signal.aborted || (this.cancelled.aborted && isDeadline(this.cancelled.reason));
  }

  /** Milliseconds left; Infinity without a deadline. */
  remaining(): number {
    return this.at === undefined ? Infinity : this.at - Date.now();
  }

  /** The call is over: its deadline timer goes. */
  end(): void {
    clearTimeout(this.#timer);
  }
}

function isDeadline(reason: unknown): boolean {
  return (
    (reason instanceof ConnectError && reason.code === Code.DeadlineExceeded) ||
    (reason instanceof Error && reason.name === "TimeoutError")
  );
}
