/**
 * Token buckets by key: each key holds up to `burst` tokens, refilled at `ratePerSecond`; a request
 * takes one. In memory, so each gateway instance counts on its own.
 *
 * @example
 * const limiter = new TokenBuckets({ ratePerSecond: 50, burst: 100 });
 * const r = limiter.take("customer:42");
 * if (!r.allowed) answer429(r.retryAfterSeconds);
 */
export type Take = { allowed: true } | { allowed: false; retryAfterSeconds: number };

export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly ratePerMs: number;
  private readonly burst: number;
  private readonly now: () => number;
  private lastSweep: number;

  constructor({
    ratePerSecond,
    burst,
    now = () => performance.now(),
  }: {
    ratePerSecond: number;
    burst: number;
    now?: () => number;
  }) {
    if (!(ratePerSecond > 0) || !(burst >= 1)) throw new Error("a token bucket needs ratePerSecond > 0 and burst >= 1");
    this.ratePerMs = ratePerSecond / 1000;
    this.burst = burst;
    this.now = now;
    this.lastSweep = now();
  }

  take(key: string): Take {
    const now = this.now();
    this.sweep(now);
    const bucket = this.buckets.get(key) ?? { tokens: this.burst, at: now };
    bucket.tokens = Math.min(this.burst, bucket.tokens + (now - bucket.at) * this.ratePerMs);
    bucket.at = now;
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true };
    }
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / this.ratePerMs / 1000)) };
  }

  /** How many keys are tracked (for tests and metrics). */
  get size(): number {
    return this.buckets.size;
  }

  /** A bucket that has refilled completely is the same as no bucket: forget it, so memory stays bounded. */
  private sweep(now: number) {
    const fullAfterMs = this.burst / this.ratePerMs;
    if (now - this.lastSweep < Math.min(fullAfterMs, 60_000)) return;
    this.lastSweep = now;
    for (const [key, b] of this.buckets) if (now - b.at >= fullAfterMs) this.buckets.delete(key);
  }
}
