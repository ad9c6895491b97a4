// How the attempt timeout meets the caller's budget, in process (a discovery that knows one instance, a
// send that answers after a while).
import { expect, test } from "bun:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { Registry } from "prom-client";
import type { ServiceDiscovery } from "../discovery/service-discovery";
import { createLogger } from "../log";
import { staticPolicies } from "./policy-source";
import { createResilienceMetrics } from "./resilience-metrics";
import { ResilientCaller } from "./resilient-call";

const oneInstance = {
  instances: async () => [{ id: "i-1", name: "order", version: "1", http: "http://127.0.0.1:1" }],
  refreshSoon: () => {},
  onChange: () => {},
} as unknown as ServiceDiscovery;

const caller = () =>
  new ResilientCaller({
    discovery: oneInstance,
    policies: staticPolicies({
      order: { attemptTimeoutMs: 100, retry: { maxRetries: 2, initialDelayMs: 1, maxDelayMs: 1 } },
    }),
    metrics: createResilienceMetrics(new Registry()),
    log: createLogger("test", "silent"),
  });

/** Answers after `ms`, unless the attempt is aborted first; records the budget each attempt was given. */
function slowSend(ms: number) {
  const budgets: number[] = [];
  return {
    budgets,
    send: async ({ signal, timeoutMs }: { signal: AbortSignal; timeoutMs: number }) => {
      budgets.push(timeoutMs);
      await new Promise((resolve, reject) => {
        const t = setTimeout(resolve, ms);
        signal.addEventListener(
          "abort",
          () => (clearTimeout(t), reject(new ConnectError("aborted", Code.DeadlineExceeded))),
          { once: true },
        );
      });
      return "answer";
    },
  };
}

test("a call that may not be repeated gets the caller's whole budget in its one attempt, beyond the attempt timeout", async () => {
  const s = slowSend(300);
  expect(await caller().call({ target: "order", idempotent: false, timeoutMs: 1000, send: s.send })).toBe("answer");
  expect(s.budgets.length).toBe(1);
  expect(s.budgets[0]).toBeGreaterThan(900);
});

test("an idempotent call keeps the attempt timeout: attempts are cut and retried within the budget", async () => {
  const s = slowSend(300);
  const err = await caller()
    .call({ target: "order", idempotent: true, timeoutMs: 1000, send: s.send })
    .then(
      () => undefined,
      (e) => ConnectError.from(e),
    );
  expect(err).toBeDefined();
  expect(s.budgets.length).toBe(3);
  expect(Math.max(...s.budgets)).toBeLessThanOrEqual(100);
});

test("without a budget of its own a call that may not be repeated keeps the attempt timeout", async () => {
  const s = slowSend(300);
  const err = await caller()
    .call({ target: "order", idempotent: false, send: s.send })
    .then(
      () => undefined,
      (e) => ConnectError.from(e),
    );
  expect(err?.code).toBe(Code.DeadlineExceeded);
  // One attempt, given what is left of the 100 ms attempt timeout when it goes out (a millisecond may have passed).
  expect(s.budgets.length).toBe(1);
  expect(s.budgets[0]).toBeLessThanOrEqual(100);
  expect(s.budgets[0]).toBeGreaterThan(50);
});

test("a slow method given a longer attempt by its client: one attempt, not cut and retried while it works", async () => {
  const s = slowSend(300);
  expect(
    await caller().call({ target: "order", idempotent: true, timeoutMs: 1000, attemptTimeoutMs: 600, send: s.send }),
  ).toBe("answer");
  expect(s.budgets.length).toBe(1);
  expect(s.budgets[0]).toBeGreaterThan(500);
});
