import { expect, test } from "bun:test";
import { ConfigError } from "../kit";
import { paymentConfig } from "./config";

test("defaults: a 10 s provider timeout inside a 30 s claim lease, 5 s waits for a racing call", () => {
  expect(paymentConfig({})).toEqual({
    PAYMENT_PROVIDER_TIMEOUT_MS: 10_000,
    PAYMENT_CLAIM_LEASE_MS: 30_000,
    PAYMENT_PENDING_WAIT_MS: 5_000,
    PAYMENT_INJECT_LATENCY_MS: 0,
    PAYMENT_ASYNC_ATTEMPTS: 3,
  });
});

test("a claim lease no longer than the provider timeout is refused, naming both", () => {
  const err = (() => {
    try {
      paymentConfig({ PAYMENT_PROVIDER_TIMEOUT_MS: "5000", PAYMENT_CLAIM_LEASE_MS: "5000" });
    } catch (e) {
      return e;
    }
  })();
  expect(err).toBeInstanceOf(ConfigError);
  expect((err as Error).message).toContain(
    "PAYMENT_CLAIM_LEASE_MS=5000 must be longer than PAYMENT_PROVIDER_TIMEOUT_MS=5000",
  );
});

test("a bad value names its variable", () => {
  expect(() => paymentConfig({ PAYMENT_PENDING_WAIT_MS: "soon" })).toThrow("PAYMENT_PENDING_WAIT_MS");
});
