/** How long an instance stays out after failing: `baseMs`, doubling with each ejection in a row, at most `maxMs`. */
export interface EjectionBackoff {
  baseMs: number;
  maxMs: number;
}

/**
 * Which instances are out of rotation because calls to them failed (outlier ejection). An instance is
 * ejected for a backoff period that doubles while it keeps failing; once the period is over it is
 * picked again, and its first success forgets its history. Pure: the clock is passed in.
 */
export class Ejections {
  readonly #byId = new Map<string, { until: number; times: number }>();

  constructor(private backoff: EjectionBackoff) {}

  /** New settings apply to the next ejection. */
  configure(backoff: EjectionBackoff): void {
    this.backoff = backoff;
  }

  /** Takes `id` out of rotation; returns for how long. */
  eject(id: string, now: number): number {
    const prior = this.#byId.get(id);
    const times = (prior?.times ?? 0) + 1;
    const ms = Math.min(this.backoff.maxMs, this.backoff.baseMs * 2 ** (times - 1));
    this.#byId.set(id, { until: now + ms, times });
    return ms;
  }

  isEjected(id: string, now: number): boolean {
    const e = this.#byId.get(id);
    return e !== undefined && now < e.until;
  }

  /** A call to `id` succeeded: it is back in, and a later failure starts again at `baseMs`. */
  succeeded(id: string): void {
    this.#byId.delete(id);
  }

  /** The instance is gone from the directory. */
  forget(id: string): void {
    this.#byId.delete(id);
  }

  /** Ids ejected right now. */
  ejected(now: number): string[] {
    return [...this.#byId].filter(([, e]) => now < e.until).map(([id]) => id);
  }
}
