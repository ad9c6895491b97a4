import { ConfigError, integer, readConfig, secret, type Env } from "../kit";

export type GatewayConfig = ReturnType<typeof gatewayConfig>;

/** The gateway's own settings (the kit reads ports, NATS, MAX_BODY_BYTES). Secrets are required. */
export function gatewayConfig(env: Env) {
  const problems: string[] = [];
  let cfg: ReturnType<typeof read> | undefined;
  try {
    cfg = read(env);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    problems.push(...e.problems);
  }
  if (cfg) {
    // The kit's own body limit (MAX_BODY_BYTES) runs first; a larger gateway limit would never apply.
    const kitLimit = Number(env.MAX_BODY_BYTES || 1024 * 1024);
    if (cfg.GATEWAY_MAX_BODY_BYTES > kitLimit)
      problems.push(`GATEWAY_MAX_BODY_BYTES=${cfg.GATEWAY_MAX_BODY_BYTES} must not exceed MAX_BODY_BYTES=${kitLimit}`);
  }
  if (problems.length) throw new ConfigError(problems);
  return cfg!;
}

function read(env: Env) {
  return readConfig(
    {
      // Signs every customer's token: guessing it is minting tokens.
      GATEWAY_JWT_SECRET: secret({ minChars: 32, minBits: 128 }),
      GATEWAY_ADMIN_API_KEY: secret({ minChars: 16, minBits: 80 }),
      GATEWAY_TOKEN_TTL_SECONDS: integer(86_400, { min: 60, max: 31_536_000 }),
      GATEWAY_MAX_BODY_BYTES: integer(64 * 1024, { min: 1024, max: 64 * 1024 * 1024 }),
      GATEWAY_RATE_LIMIT_RPS: integer(50, { min: 1, max: 1_000_000 }),
      GATEWAY_RATE_LIMIT_BURST: integer(100, { min: 1, max: 1_000_000 }),
      GATEWAY_SIGNUP_RATE_PER_MINUTE: integer(10, { min: 1, max: 1_000_000 }),
      GATEWAY_SIGNUP_BURST: integer(20, { min: 1, max: 1_000_000 }),
      // Covers a confirm's slowest path: reserving, then a charge (up to ORDER_PAYMENT_TIMEOUT_MS, 12 s).
      GATEWAY_UPSTREAM_TIMEOUT_MS: integer(15_000, { min: 100, max: 600_000 }),
    },
    env,
  );
}
