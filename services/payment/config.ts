import { ConfigError, integer, readConfig, type Env } from "../kit";

/** The payment service's own settings (the kit reads ports, NATS, database). */
export function paymentConfig(env: Env) {
  const cfg = readConfig(
    {
      PAYMENT_PROVIDER_TIMEOUT_MS: integer(10_000, { min: 100, max: 600_000 }),
      PAYMENT_CLAIM_LEASE_MS: integer(30_000, { min: 1000, max: 3_600_000 }),
      PAYMENT_PENDING_WAIT_MS: integer(5_000, { min: 0, max: 600_000 }),
      // Makes this instance slow on purpose (see injected-latency.ts); 0 in production.
      PAYMENT_INJECT_LATENCY_MS: integer(0, { min: 0, max: 600_000 }),
      // Deliveries of a PaymentRequested command the provider may fail transiently before the charge fails.
      PAYMENT_ASYNC_ATTEMPTS: integer(3, { min: 1, max: 100 }),
    },
    env,
  );
  // A live claim must outlast its provider call, or another call could take it over and charge again.
  if (cfg.PAYMENT_CLAIM_LEASE_MS <= cfg.PAYMENT_PROVIDER_TIMEOUT_MS)
    throw new ConfigError([
      `PAYMENT_CLAIM_LEASE_MS=${cfg.PAYMENT_CLAIM_LEASE_MS} must be longer than PAYMENT_PROVIDER_TIMEOUT_MS=${cfg.PAYMENT_PROVIDER_TIMEOUT_MS}`,
    ]);
  return cfg;
}
