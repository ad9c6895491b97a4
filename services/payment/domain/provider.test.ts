import { describe, expect, test } from "bun:test";
import { abortableSleep, memoryLedger, providerOutcome, simulatedProvider, SLOW_MS } from "./provider";

const charge = (cardToken: string, idempotencyKey: string = crypto.randomUUID()) => ({
  cardToken,
  idempotencyKey,
  amountMinor: 1999n,
  currency: "EUR",
});

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
    const provider = simulatedProvider({ ledger: memoryLedger(), sleep: async (ms) => void slept.push(ms) });
    expect((await provider.charge(charge("tok_slow"), new AbortController().signal)).kind).toBe("captured");
    expect(slept).toEqual([SLOW_MS]);
  });

  test("an abort during the delay captures nothing: the charge rejects with the abort reason", async () => {
    const abort = new AbortController();
    const ledger = memoryLedger();
    const provider = simulatedProvider({ ledger, sleep: async () => abort.abort(new Error("caller gave up")) });
    await expect(provider.charge(charge("tok_slow", "k-1"), abort.signal)).rejects.toThrow("caller gave up");
    expect(await provider.lookup("k-1")).toBeUndefined();
    expect(ledger.entries.size).toBe(0);
  });

  test("a key charged before answers its first outcome, whatever token comes with it; lookup tells what a key got", async () => {
    const provider = simulatedProvider({ ledger: memoryLedger() });
    const never = new AbortController().signal;
    expect((await provider.charge(charge("tok_success", "k-1"), never)).kind).toBe("captured");
    expect((await provider.charge(charge("tok_declined", "k-1"), never)).kind).toBe("captured");
    expect((await provider.charge(charge("tok_declined", "k-2"), never)).kind).toBe("declined");
    expect((await provider.charge(charge("tok_success", "k-2"), never)).kind).toBe("declined");
    // A transient failure leaves no trace: the key may be charged again.
    expect((await provider.charge(charge("tok_transient", "k-3"), never)).kind).toBe("transient");
    expect(await provider.lookup("k-3")).toBeUndefined();
    expect(await provider.lookup("k-1")).toEqual({ kind: "captured", delayMs: 0 });
    expect(await provider.lookup("k-2")).toEqual({ kind: "declined", reason: "card declined by issuer" });
  });

  test("abortableSleep rejects as soon as the signal aborts", async () => {
    const started = Date.now();
    await expect(abortableSleep(10_000, AbortSignal.timeout(20))).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
