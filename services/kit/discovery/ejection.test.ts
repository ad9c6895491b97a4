import { describe, expect, test } from "bun:test";
import { Ejections } from "./ejection";

describe("ejections", () => {
  test("an ejected instance is out for the backoff period, then back in", () => {
    const e = new Ejections({ baseMs: 1000, maxMs: 30_000 });
    expect(e.eject("a", 0)).toBe(1000);
    expect(e.isEjected("a", 999)).toBe(true);
    expect(e.isEjected("a", 1000)).toBe(false);
    expect(e.isEjected("b", 0)).toBe(false);
  });

  test("the period doubles while the instance keeps failing, up to the maximum", () => {
    const e = new Ejections({ baseMs: 1000, maxMs: 5000 });
    expect([e.eject("a", 0), e.eject("a", 1000), e.eject("a", 3000), e.eject("a", 7000), e.eject("a", 12_000)]).toEqual(
      [1000, 2000, 4000, 5000, 5000],
    );
    expect(e.ejected(12_001)).toEqual(["a"]);
  });

  test("a success lets it back in at once and forgets its history", () => {
    const e = new Ejections({ baseMs: 100, maxMs: 10_000 });
    e.eject("a", 0);
    e.eject("a", 0);
    e.succeeded("a");
    expect(e.isEjected("a", 1)).toBe(false);
    expect(e.eject("a", 1)).toBe(100);
  });

  test("a vanished instance is forgotten; new settings apply to the next ejection", () => {
    const e = new Ejections({ baseMs: 100, maxMs: 10_000 });
    e.eject("a", 0);
    e.forget("a");
    expect(e.ejected(0)).toEqual([]);
    e.configure({ baseMs: 50, maxMs: 60 });
    expect([e.eject("b", 0), e.eject("b", 0)]).toEqual([50, 60]);
  });
});
