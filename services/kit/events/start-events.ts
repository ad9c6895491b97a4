import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Registry } from "prom-client";
import type { Env } from "../config";
import type { OpenDatabase } from "../db/database";
import type { Logger } from "../log";
import type { ConsumerLoop } from "./consumer/consumer-loop";
import { DeadLetters } from "./dead-letters/dead-letter-queue";
import { startDeadLetterWriter } from "./dead-letters/dead-letter-writer";
import type { EventConsumer } from "./consumer/event-consumer";
import { startEventConsumer } from "./consumer/start-event-consumer";
import { eventsConfig } from "./events-config";
import { eventsMetrics } from "./events-metrics";
import { LastErrors } from "./dead-letters/last-errors";
import { startOutboxRelay, type OutboxRelay } from "./outbox/outbox-relay";
import { EventNames, ensureStreams } from "./topology/streams";
import type { EventStream } from "./topology/contract";

export interface RunningEvents {
  /** Consumers first (each finishes the message in hand), then the relay. */
  stop(): Promise<void>;
}

/**
 * What the kit runs for a service that publishes (an outbox) or consumes events: the streams as
 * configured, the outbox relay, each consumer and its dead-letter writer. Nothing when it does neither.
 */
export async function startEvents(opts: {
  service: string;
  /** The platform's namespace: events come from `/<namespace>/<service>` (ce-source). */
  namespace: string;
  env: Env;
  log: Logger;
  nats: NatsConnection;
  registry?: Registry;
  database?: OpenDatabase<any>;
  /** Publishes through an outbox to these streams (the service's own). */
  outbox?: { streams: readonly EventStream[] };
  consumers: readonly EventConsumer[];
  /** The operator's public key: only its replays of a dead letter resolve the letter. Unset on an open platform. */
  operatorKey?: string;
}): Promise<RunningEvents | undefined> {
  const { service, nats, database } = opts;
  if (!opts.outbox && opts.consumers.length === 0) return undefined;
  if (!database)
    throw new Error(`${service}: an outbox and event consumers need the service's database (definition.database)`);
  const cfg = eventsConfig(opts.env);
  const names = new EventNames(cfg.EVENTS_PREFIX);
  const log = opts.log.child({ component: "events" });
  const jsm = await jetstreamManager(nats);
  const js = jetstream(nats);
  const metrics = eventsMetrics(opts.registry);
  // Its own streams and those it reads; all of them are the operator's on a platform with identities.
  await ensureStreams(jsm, names, cfg, log, [
    ...new Set([...(opts.outbox?.streams ?? []), ...opts.consumers.map((c) => c.stream)]),
  ]);

  const loops: ConsumerLoop[] = [];
  let relay: OutboxRelay | undefined;
  const stop = async () => {
    await Promise.all(loops.map((l) => l.stop()));
    await relay?.stop();
  };
  try {
    if (opts.outbox) {
      relay = await startOutboxRelay({
        db: database.db,
        driver: database.driver,
        schema: database.schema,
        source: `/${opts.namespace}/${service}`,
        js,
        names,
        cfg,
        log,
        metrics,
      });
    }
    if (opts.consumers.length) {
      const lastErrors = await LastErrors.open(nats, names, cfg.STREAM_REPLICAS);
      const deadLetters = new DeadLetters(jsm, js, names, { operatorKey: opts.operatorKey });
      const termTakesReason = versionAtLeast(nats.info?.version ?? "0.0.0", [2, 11]);
      for (const consumer of opts.consumers) {
        loops.push(
          await startEventConsumer(consumer, {
            js,
            jsm,
            db: database.db,
            names,
            cfg,
            log,
            lastErrors,
            deadLetters,
            termTakesReason,
            metrics,
          }),
        );
        loops.push(
          await startDeadLetterWriter({
            js,
            jsm,
            names,
            of: { stream: consumer.stream, consumer: consumer.name },
            lastErrors,
            deadLetters,
            log,
          }),
        );
      }
    }
  } catch (e) {
    await stop();
    throw e;
  }
  log.info(
    {
      prefix: cfg.EVENTS_PREFIX || undefined,
      outbox: opts.outbox?.streams.map((s) => s.name),
      consumers: opts.consumers.map((c) => c.name),
    },
    "events running",
  );
  return { stop };
}

function versionAtLeast(version: string, [major, minor]: [number, number]): boolean {
  const [a = 0, b = 0] = version.split(".").map(Number);
  return a > major || (a === major && b >= minor);
}
