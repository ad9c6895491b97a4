import { expect, test } from "bun:test";
import { waitUntil } from "./dlq";

test("waitUntil says how long it has waited while it waits, and stops at its bound", async () => {
  const said: number[] = [];
  const t0 = Date.now();
  const done = await waitUntil(async () => false, 550, { say: (ms) => said.push(ms), everyMs: 100, pollMs: 20 });
  expect(done).toBe(false);
  expect(Date.now() - t0).toBeLessThan(2000);
  expect(said.length).toBeGreaterThanOrEqual(3);
  expect(said.every((ms, i) => ms >= (i + 1) * 100)).toBe(true);

  let n = 0;
  const quiet: number[] = [];
  expect(await waitUntil(async () => ++n >= 3, 5000, { say: (ms) => quiet.push(ms), pollMs: 1 })).toBe(true);
  expect(quiet).toEqual([]);
});
