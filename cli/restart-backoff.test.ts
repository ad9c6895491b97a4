import { expect, test } from "bun:test";
import { RestartBackoff } from "./restart-backoff";

test("restarts back off doubling, capped, and start over after a stable run", () => {
  const b = new RestartBackoff({ baseMs: 500, maxMs: 4000, stableMs: 60_000 });
  // A crash loop: each start dies within a second.
  expect([1, 2, 3, 4, 5, 6].map(() => b.next(1000).delayMs)).toEqual([500, 1000, 2000, 4000, 4000, 4000]);
  // Up for a minute, then it exits: the first restart is quick again.
  expect(b.next(60_000)).toEqual({ delayMs: 500, inARow: 1 });
  expect(b.next(59_999)).toEqual({ delayMs: 1000, inARow: 2 });
});
