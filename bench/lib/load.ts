/** Closed-loop load: `concurrency` callers, each issuing its next call as soon as the previous one answered. */

export interface LoadResult {
  calls: number;
  errors: number;
  seconds: number;
  /** Successful calls per second. */
  rate: number;
  p50Ms: number;
  p99Ms: number;
  /** The first error seen, so a broken variant says why instead of reporting a fast failure rate. */
  firstError?: string;
}

export function percentile(sorted: Float64Array | number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

/** Latency samples in a growable typed array (millions of calls without boxing). */
export class Samples {
  #buf = new Float64Array(1 << 16);
  #n = 0;
  add(v: number): void {
    if (this.#n === this.#buf.length) {
      const next = new Float64Array(this.#buf.length * 2);
      next.set(this.#buf);
      this.#buf = next;
    }
    this.#buf[this.#n++] = v;
  }
  get length(): number {
    return this.#n;
  }
  sorted(): Float64Array {
    return this.#buf.slice(0, this.#n).sort();
  }
  merge(other: Samples): void {
    const s = other.#buf.subarray(0, other.#n);
    for (let i = 0; i < s.length; i++) this.add(s[i]!);
  }
}

export interface RunLoadOptions {
  concurrency: number;
  durationMs: number;
  /** Calls made but not counted first (JIT, connection pools, discovery caches). */
  warmupMs?: number;
}

/** Runs `call` from `concurrency` loops for `durationMs` (after a warm-up), recording each call's latency. */
export async function runLoad(
  call: (i: number) => Promise<unknown>,
  opts: RunLoadOptions,
): Promise<LoadResult & { samples: Samples }> {
  if (opts.warmupMs) await phase(call, opts.concurrency, opts.warmupMs, new Samples());
  const samples = new Samples();
  const r = await phase(call, opts.concurrency, opts.durationMs, samples);
  const sorted = samples.sorted();
  return { ...r, rate: r.calls / r.seconds, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), samples };
}

async function phase(call: (i: number) => Promise<unknown>, concurrency: number, durationMs: number, samples: Samples) {
  const started = performance.now();
  const ends = started + durationMs;
  let calls = 0;
  let errors = 0;
  let firstError: string | undefined;
  let seq = 0;
  const worker = async () => {
    while (performance.now() < ends) {
      const t0 = performance.now();
      try {
        await call(seq++);
        samples.add(performance.now() - t0);
        calls++;
      } catch (e) {
        errors++;
        firstError ??= e instanceof Error ? e.message : String(e);
        // A failing target must not turn into a hot loop that starves everything else.
        if (errors > 1000 && errors > calls) throw new Error(`too many errors (${errors}); first: ${firstError}`);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { calls, errors, seconds: (performance.now() - started) / 1000, firstError };
}

/** Combines rounds of the same variant: total calls over total time, percentiles over every sample. */
export function combine(rounds: (LoadResult & { samples: Samples })[]): LoadResult {
  const all = new Samples();
  for (const r of rounds) all.merge(r.samples);
  const sorted = all.sorted();
  const calls = rounds.reduce((a, r) => a + r.calls, 0);
  const seconds = rounds.reduce((a, r) => a + r.seconds, 0);
  const errors = rounds.reduce((a, r) => a + r.errors, 0);
  const firstError = rounds.find((r) => r.firstError)?.firstError;
  return {
    calls,
    errors,
    seconds: round(seconds, 2),
    rate: Math.round(calls / seconds),
    p50Ms: round(percentile(sorted, 50), 3),
    p99Ms: round(percentile(sorted, 99), 3),
    ...(firstError ? { firstError } : {}),
  };
}

export const round = (v: number, digits = 2) => Math.round(v * 10 ** digits) / 10 ** digits;

/**
 * Numbers calls and spaces them at `ratePerSecond` from the first one (open-loop pacing over closed-loop
 * callers): `next()` resolves with the call's number once its time has come; 0 is as fast as the callers go.
 */
export function pacedCalls(ratePerSecond: number): { next(): Promise<number>; readonly issued: number } {
  let n = 0;
  let from: number | undefined;
  return {
    async next() {
      const i = n++;
      if (ratePerSecond > 0) {
        from ??= performance.now();
        const wait = from + (i * 1000) / ratePerSecond - performance.now();
        if (wait > 0) await Bun.sleep(wait);
      }
      return i;
    },
    /** How many calls were numbered so far. */
    get issued() {
      return n;
    },
  };
}
