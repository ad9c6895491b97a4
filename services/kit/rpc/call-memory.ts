import type { UnaryAnswer } from "./unary-answer";

/** The header a caller names one call with, when the call may reach the callee by a second way. */
export const CALL_ID_HEADER = "rpc-call-id";

/**
 * Answers by call id, for a call that reaches an instance twice: sent over NATS, then over HTTP because
 * the caller's bus connection dropped before the reply came (rpc/nats/nats-unary-call.ts), or the NATS
 * copy delivered late after the HTTP one. The second arrival gets the first one's answer (waiting for
 * it if it is still being worked on), never a second execution. Only calls that carry an id are kept,
 * for one to two `keepMs` windows; the id is bound to the caller's credentials, so nobody else can
 * read an answer by naming its id.
 */
export class CallMemory {
  #current = new Map<string, Promise<UnaryAnswer>>();
  #previous = new Map<string, Promise<UnaryAnswer>>();
  readonly #rotation: ReturnType<typeof setInterval>;

  constructor(keepMs = 30_000) {
    this.#rotation = setInterval(() => {
      this.#previous = this.#current;
      this.#current = new Map();
    }, keepMs);
    this.#rotation.unref?.();
  }

  /** The key of a request's call (named by its header, or as given), or undefined when it names none (or an implausible one). */
  static keyOf(headers: Headers, id = headers.get(CALL_ID_HEADER)): string | undefined {
    if (id === null || id.length === 0 || id.length > 128) return undefined;
    return `${id}\n${headers.get("authorization") ?? ""}`;
  }

  /** The answer of a call seen before, or `run` (remembered) for a new one; `again` tells which. */
  answer(key: string, run: () => Promise<UnaryAnswer>): { answer: Promise<UnaryAnswer>; again: boolean } {
    const known = this.#current.get(key) ?? this.#previous.get(key);
    if (known) return { answer: known, again: true };
    const answer = run();
    this.#current.set(key, answer);
    return { answer, again: false };
  }

  get size(): number {
    return this.#current.size + this.#previous.size;
  }

  stop(): void {
    clearInterval(this.#rotation);
  }
}
