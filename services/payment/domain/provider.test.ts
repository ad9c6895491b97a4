import { describe, expect, test } from "bun:test";
import { abortableSleep, providerOutcome, simulatedProvider, SLOW_MS } from "./provider";

describe("the simulated provider", () => {
  test("the card token decides the outcome", () => {
    expect(providerOutcome("tok_success")).toEqual({ kind: "captured", delayMs: 0 });
    expect(providerOutcome("tok_slow")).toEqual({ kind: "captured", delayMs: SLOW_MS });
    expect(providerOutcome("tok_declined")).toEqual({ kind: "declined", reason: "card declined by issuer" });
    expect(providerOutcome("tok_transient").kind).toBe("transient");
    expect(providerOutcome("tok_whatever")).toEqual({ kind: "declined", reason: "unknown card token" });
  });

  test("a slow charge waits its delay, then captures", async () => {
    const slept: number[] = [];
    const provider = simulatedProvider({ sleep: async (ms) => void slept.push(ms) });
    expect((await provider.charge("tok_slow", new AbortController().signal)).kind).toBe("captured");
    expect(slept).toEqual([SLOW_MS]);
  });

  test("an abort during the delay captures nothing: the charge rejects with the abort reason", async () => {
    const abort = new AbortController();
    const provider = simulatedProvider({ sleep: async () => abort.abort(new Error("caller gave up")) });
    await expect(provider.charge("tok_slow", abort.signal)).rejects.toThrow("caller gave up");
  });

  test("abortableSleep rejects as soon as the signal aborts", async () => {
    const started = Date.now();
    await expect(abortableSleep(10_000, AbortSignal.timeout(20))).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
