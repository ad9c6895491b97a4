import { integer, oneOf, readConfig, type Env, type Setting } from "../config";
import { namespaceOf } from "../nats/namespace";

/** A comma-separated list of delays in milliseconds, e.g. "1000,5000,30000". */
const delays = (fallback: number[]): Setting<number[]> => ({
  expected: "comma-separated milliseconds, e.g. 1000,5000,30000",
  fallback,
  parse(raw) {
    const list = raw.split(",").map((s) => s.trim());
    if (list.some((s) => !/^\d+$/.test(s) || Number(s) > 3_600_000)) throw new Error("");
    return list.map(Number);
  },
});

const prefix = (fallback: string): Setting<string> => ({
  expected: "lower-case letters and digits, starting with a letter",
  fallback,
  parse(raw) {
    if (!/^[a-z][a-z0-9]{0,31}$/.test(raw)) throw new Error("");
    return raw;
  },
});

/**
 * Settings of the event machinery, the same for every service. EVENTS_PREFIX keeps a platform's streams
 * and subjects apart from others' on the same NATS: "t1" gives stream t1_ORDERS on subjects t1.orders.>.
 * It is the platform's namespace (PLATFORM_NAMESPACE, default shop) unless set: tests set one per file.
 */
export function eventsConfig(env: Env) {
  return readConfig(
    {
      EVENTS_PREFIX: prefix(namespaceOf(env)),
      /** Replicas of every stream: 1 on one server, 3 on a cluster. */
      STREAM_REPLICAS: integer(1, { min: 1, max: 5 }),
      /** How long the domain streams keep events. */
      STREAM_MAX_AGE_HOURS: integer(24 * 7, { min: 1, max: 24 * 365 }),
      /** How long JetStream remembers a Nats-Msg-Id (an outbox row published twice within it is stored once). */
      STREAM_DUPLICATE_WINDOW_MS: integer(120_000, { min: 1000, max: 24 * 3_600_000 }),
      /** How long dead letters are kept; 0 keeps them until they are replayed or purged. */
      DLQ_MAX_AGE_HOURS: integer(0, { min: 0, max: 24 * 365 }),
      /** The outbox relay's safety-net poll; it normally wakes on LISTEN/NOTIFY at once. */
      OUTBOX_POLL_MS: integer(5000, { min: 10, max: 600_000 }),
      /** Rows published per relay transaction. */
      OUTBOX_BATCH: integer(100, { min: 1, max: 10_000 }),
      /** Test knob: the relay stops for good right before publishing, or right after (before marking sent). */
      OUTBOX_RELAY_HALT: oneOf(["", "before_publish", "after_publish"] as const, ""),
      /** How long a delivery may take before JetStream gives it to another consumer instance. */
      CONSUMER_ACK_WAIT_MS: integer(30_000, { min: 100, max: 3_600_000 }),
      /** Messages one consumer instance handles at once (one entity's still one after another, in order). */
      CONSUMER_CONCURRENCY: integer(16, { min: 1, max: 500 }),
      /** Deliveries of one message before it becomes a dead letter. */
      CONSUMER_MAX_DELIVER: integer(5, { min: 1, max: 1000 }),
      /** Delay before delivery n+1 after a retryable failure of delivery n; the last value repeats. */
      CONSUMER_BACKOFF_MS: delays([1000, 5000, 30_000, 120_000]),
      /**
       * An event of a type no one declared for its stream (or on the wrong subject for its type): a dead
       * letter at once, or acked, counted and logged as skipped.
       */
      CONSUMER_UNKNOWN_EVENTS: oneOf(["dead-letter", "skip"] as const, "dead-letter"),
    },
    env,
  );
}

export type EventsConfig = ReturnType<typeof eventsConfig>;
