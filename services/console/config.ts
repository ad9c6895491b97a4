import { integer, readConfig, secret, text, type Env } from "../kit";
import { eventsConfig } from "../kit/events";
import { namespaceOf, policyBucketOf } from "../kit/nats";

/**
 * The console's settings, read once at start (every bad one reported together):
 * GATEWAY_ADMIN_API_KEY is the operator's login (the platform's one admin credential, the same the
 * gateway's admin routes take), refused when short or guessable like the gateway refuses it.
 */
export function consoleConfig(env: Env) {
  return {
    ...readConfig(
      {
        GATEWAY_ADMIN_API_KEY: secret({ minChars: 16, minBits: 80 }),
        /** Traces kept in memory; the oldest goes first. */
        CONSOLE_TRACE_LIMIT: integer(2000, { min: 10, max: 100_000 }),
        CONSOLE_SPANS_PER_TRACE: integer(2000, { min: 10, max: 100_000 }),
        /** How often the instances, their $SRV.STATS and /metrics are read (the pages' refresh). */
        CONSOLE_SAMPLE_MS: integer(2000, { min: 200, max: 60_000 }),
        CONSOLE_SESSION_HOURS: integer(8, { min: 1, max: 168 }),
        /**
         * The operator's nkey seed file: policy writes and dead-letter replays and purges go through a
         * connection as the operator, replays signed by it. Unset: through the console's own connection
         * (an open bus, or a console run as the operator).
         */
        CONSOLE_OPERATOR_SEED_FILE: text(""),
        RESILIENCE_POLICY_BUCKET: text(policyBucketOf(namespaceOf(env))),
      },
      env,
    ),
    ...eventsConfig(env),
  };
}

export type ConsoleConfig = ReturnType<typeof consoleConfig>;
