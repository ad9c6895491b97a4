/**
 * When `bun run dev` restarts a service that exited: the first restart after `baseMs`, doubling with
 * each exit in a row up to `maxMs`; a service that stayed up `stableMs` starts the count again, so a
 * crash an hour after the last one is restarted at once again, and a crash loop settles at `maxMs`.
 */
export class RestartBackoff {
  #failures = 0;

  constructor(readonly opts: { baseMs: number; maxMs: number; stableMs: number } = RESTART_DEFAULTS) {}

  /** How long to wait before the next start, given how long the process that just exited was up. */
  next(uptimeMs: number): { delayMs: number; inARow: number } {
    if (uptimeMs >= this.opts.stableMs) this.#failures = 0;
    this.#failures++;
    const delayMs = Math.min(this.opts.baseMs * 2 ** (this.#failures - 1), this.opts.maxMs);
    return { delayMs, inARow: this.#failures };
  }
}

export const RESTART_DEFAULTS = { baseMs: 500, maxMs: 30_000, stableMs: 60_000 };
