import { expect, test } from "bun:test";
import { TokenBuckets } from "./token-bucket";

function clock() {
  let t = 0;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

test("a burst passes, the next request waits for a refill, and says how long", () => {
  const c = clock();
  const buckets = new TokenBuckets({ ratePerSecond: 2, burst: 3, now: c.now });
  for (let i = 0; i < 3; i++) expect(buckets.take("a")).toEqual({ allowed: true });
  expect(buckets.take("a")).toEqual({ allowed: false, retryAfterSeconds: 1 });
  c.advance(499);
  expect(buckets.take("a").allowed).toBe(false);
  c.advance(1);
  expect(buckets.take("a")).toEqual({ allowed: true });
});

test("keys are counted apart", () => {
  const c = clock();
  const buckets = new TokenBuckets({ ratePerSecond: 1, burst: 1, now: c.now });
  expect(buckets.take("a").allowed).toBe(true);
  expect(buckets.take("a").allowed).toBe(false);
  expect(buckets.take("b").allowed).toBe(true);
});

test("Retry-After rounds up to whole seconds at slow rates", () => {
  const c = clock();
  const buckets = new TokenBuckets({ ratePerSecond: 0.1, burst: 1, now: c.now });
  buckets.take("a");
  expect(buckets.take("a")).toEqual({ allowed: false, retryAfterSeconds: 10 });
  c.advance(2500);
  expect(buckets.take("a")).toEqual({ allowed: false, retryAfterSeconds: 8 });
});

test("refilled buckets are forgotten, so idle clients cost no memory", () => {
  const c = clock();
  const buckets = new TokenBuckets({ ratePerSecond: 10, burst: 10, now: c.now });
  for (let i = 0; i < 100; i++) buckets.take(`client-${i}`);
  expect(buckets.size).toBe(100);
  c.advance(1000);
  buckets.take("late");
  expect(buckets.size).toBe(1);
});
