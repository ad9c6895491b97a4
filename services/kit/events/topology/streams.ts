import {
  DiscardPolicy,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
  type StreamConfig,
} from "@nats-io/jetstream";
import type { Logger } from "../../log";
import type { EventStream } from "./contract";
import type { EventsConfig } from "../events-config";

const NANOS_PER_MS = 1_000_000;
const HOUR_NANOS = 3_600_000 * NANOS_PER_MS;

/**
 * Names of everything the events live in, under a prefix (EVENTS_PREFIX) or none. The prefix goes in
 * front of stream names (`t1_ORDERS`), subjects (`t1.orders.created`) and the consumers' error bucket,
 * so tests and the shared platform never see each other's messages.
 */
export class EventNames {
  constructor(readonly prefix: string) {}

  /** `ORDERS` (or the stream itself) → `t1_ORDERS`; also `DLQ`. */
  stream(name: string | EventStream): string {
    if (typeof name !== "string") name = name.name;
    return this.prefix ? `${this.prefix}_${name}` : name;
  }

  /** `orders.confirmed` → `t1.orders.confirmed`. */
  subject(subject: string): string {
    return this.prefix ? `${this.prefix}.${subject}` : subject;
  }

  /** The inverse of subject(): what the catalogue calls it. */
  unprefixed(subject: string): string {
    return this.prefix && subject.startsWith(`${this.prefix}.`) ? subject.slice(this.prefix.length + 1) : subject;
  }

  /** Where dead letters of `consumer` on `stream` go. */
  deadLetterSubject(stream: string, consumer: string): string {
    return this.subject(`dlq.${stream}.${consumer}`);
  }

  /** The KV bucket holding each failing message's last error, for its dead letter. */
  get errorBucket(): string {
    return this.prefix ? `${this.prefix}_CONSUMER_ERRORS` : "CONSUMER_ERRORS";
  }

  /** Where the advisories about one stream's dead messages wait for their dead letters: `t1_ORDERS_ADVISORIES`. */
  advisories(stream: string | EventStream): string {
    return `${this.stream(stream)}_ADVISORIES`;
  }

  /** Every stream of a platform with these event streams: theirs, the dead letters' and the error bucket's. */
  allStreams(streams: readonly EventStream[]): string[] {
    return [
      ...streams.flatMap((s) => [this.stream(s), this.advisories(s)]),
      this.stream("DLQ"),
      `KV_${this.errorBucket}`,
    ];
  }
}

/** The JetStream settings of every stream, explicit so a cluster and one server behave alike. */
export function streamConfigs(
  names: EventNames,
  cfg: EventsConfig,
  streams: readonly EventStream[],
): (Partial<StreamConfig> & { name: string })[] {
  const common = {
    storage: StorageType.File,
    num_replicas: cfg.STREAM_REPLICAS,
    discard: DiscardPolicy.Old,
    duplicate_window: cfg.STREAM_DUPLICATE_WINDOW_MS * NANOS_PER_MS,
  };
  const domain = streams.map((stream) => ({
    ...common,
    name: names.stream(stream),
    description: `${stream.domain} events (protobuf payloads, CloudEvents headers)`,
    subjects: [names.subject(`${stream.domain}.>`)],
    retention: RetentionPolicy.Limits,
    max_age: cfg.STREAM_MAX_AGE_HOURS * HOUR_NANOS,
  }));
  const dlq = {
    ...common,
    name: names.stream("DLQ"),
    description: "dead letters: the original message and why it died; `bun cli/dlq.ts` works on them",
    subjects: [names.subject("dlq.>")],
    retention: RetentionPolicy.Limits,
    max_age: cfg.DLQ_MAX_AGE_HOURS * HOUR_NANOS,
  };
  // Advisories are plain NATS messages, gone if nobody listens at that moment: captured in a stream,
  // a dead letter is written even when the consumer's service was down when the message died. One
  // stream per event stream, so whoever ensures a stream ensures its advisories, and no two services
  // ever edit one list of subjects.
  const advisories = streams.map((stream) => ({
    ...common,
    name: names.advisories(stream),
    description: `MAX_DELIVERIES and MSG_TERMINATED advisories of the consumers of ${names.stream(stream)}, until turned into dead letters`,
    subjects: [
      `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${names.stream(stream)}.*`,
      `$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.${names.stream(stream)}.*`,
    ],
    retention: RetentionPolicy.Workqueue,
    max_age: 24 * 7 * HOUR_NANOS,
  }));
  return [...domain.flatMap((d, i) => [d, advisories[i]!]), dlq];
}

/** Settings that may differ between the wanted and the existing stream, and can be updated in place. */
const UPDATABLE = ["description", "subjects", "max_age", "duplicate_window", "num_replicas", "discard"] as const;

export interface StreamOutcome {
  stream: string;
  outcome: "created" | "updated" | "unchanged" | "differs" | "removed";
  /** The settings that differ from the configuration (updated, or left for the operator). */
  changed?: string[];
}

/** NATS refused this connection's identity the subject: its permissions do not cover it. */
export const isPermissionDenied = (e: unknown) => /permissions violation/i.test(String(e));

/** Creating and changing streams is the operator's on a platform with identities. */
export class StreamsNotProvisioned extends Error {}

/**
 * Creates the given event streams with their advisory streams, and the dead letters', or brings
 * existing ones to the configured settings: each service ensures the streams it writes and reads, the
 * operator all of them. Safe to run
 * from every replica at once: a stream created meanwhile by another is updated instead. On a platform with
 * identities only the operator may create or change a stream (`bun run cli streams`): a service then
 * fails with a StreamsNotProvisioned naming a missing one, and works on with one whose settings
 * differ (the difference logged for the operator).
 */
export async function ensureStreams(
  jsm: JetStreamManager,
  names: EventNames,
  cfg: EventsConfig,
  log: Logger,
  streams: readonly EventStream[],
): Promise<StreamOutcome[]> {
  const outcomes: StreamOutcome[] = [];
  await retireSharedAdvisories(jsm, names, log, outcomes);
  for (const want of streamConfigs(names, cfg, streams)) {
    const name = want.name!;
    const existing = await jsm.streams.info(name).catch((e) => {
      if (isNotFound(e)) return undefined;
      if (isPermissionDenied(e))
        throw new StreamsNotProvisioned(
          `this identity may not read stream ${name}: were the identities made for another EVENTS_PREFIX or NATS account? (bun run cli identities --events-prefix)`,
        );
      throw e;
    });
    if (!existing) {
      try {
        await jsm.streams.add(want);
        log.info({ stream: name }, "stream created");
        outcomes.push({ stream: name, outcome: "created" });
        continue;
      } catch (e) {
        if (isPermissionDenied(e))
          throw new StreamsNotProvisioned(
            `stream ${name} does not exist, and this identity may not create streams: the operator provisions them (bun run cli streams)`,
          );
        if (!/already in use/i.test(String(e))) throw e;
      }
    }
    const current = existing?.config ?? (await jsm.streams.info(name)).config;
    const changed = UPDATABLE.filter((k) => JSON.stringify(current[k]) !== JSON.stringify(want[k]));
    if (current.storage !== want.storage || current.retention !== want.retention)
      log.warn(
        { stream: name, storage: current.storage, retention: current.retention },
        "stream storage or retention differs from the configuration; it cannot change in place",
      );
    if (!changed.length) {
      outcomes.push({ stream: name, outcome: "unchanged" });
      continue;
    }
    try {
      await jsm.streams.update(name, Object.fromEntries(changed.map((k) => [k, want[k]])));
      log.info({ stream: name, changed }, "stream updated");
      outcomes.push({ stream: name, outcome: "updated", changed });
    } catch (e) {
      if (!isPermissionDenied(e)) throw e;
      log.warn(
        { stream: name, changed },
        "stream settings differ from the configuration; the operator applies them (bun run cli streams)",
      );
      outcomes.push({ stream: name, outcome: "differs", changed });
    }
  }
  return outcomes;
}

/**
 * Platforms made before each stream had its own advisory stream kept them all in one, DLQ_ADVISORIES,
 * whose subjects the new streams take over. It goes once it holds nothing; while it still holds
 * advisories the dead-letter writers of the older version must turn them into dead letters first.
 */
async function retireSharedAdvisories(
  jsm: JetStreamManager,
  names: EventNames,
  log: Logger,
  outcomes: StreamOutcome[],
): Promise<void> {
  const shared = names.stream("DLQ_ADVISORIES");
  const info = await jsm.streams.info(shared).catch((e) => {
    if (isNotFound(e) || isPermissionDenied(e)) return undefined;
    throw e;
  });
  if (!info) return;
  if (info.state.messages > 0)
    throw new StreamsNotProvisioned(
      `stream ${shared} (of an older version) still holds ${info.state.messages} advisories: let the older services write their dead letters, then run bun run cli streams`,
    );
  try {
    await jsm.streams.delete(shared);
  } catch (e) {
    if (isPermissionDenied(e))
      throw new StreamsNotProvisioned(
        `stream ${shared} (of an older version) must go before the per-stream advisory streams can take its subjects: the operator removes it (bun run cli streams)`,
      );
    throw e;
  }
  log.info({ stream: shared }, "empty shared advisory stream of an older version removed");
  outcomes.push({ stream: shared, outcome: "removed" });
}

export function isNotFound(e: unknown): boolean {
  return (
    /not found/i.test(String(e)) ||
    (e as { code?: unknown })?.code === "404" ||
    (e as { api_error?: { code?: number } })?.api_error?.code === 404
  );
}

/** Deletes every stream of this prefix (and its error bucket); already gone is fine. For tests and benches. */
export async function deleteStreams(jsm: JetStreamManager, names: EventNames): Promise<void> {
  if (!names.prefix) throw new Error("deleteStreams takes the streams of an EVENTS_PREFIX only");
  const ours = [];
  for await (const name of jsm.streams.names())
    if (name.startsWith(`${names.prefix}_`) || name === `KV_${names.errorBucket}`) ours.push(name);
  for (const stream of ours) {
    await jsm.streams.delete(stream).catch((e) => {
      if (!isNotFound(e)) throw e;
    });
  }
}
