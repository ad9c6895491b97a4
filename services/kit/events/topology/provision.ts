import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "../../log";
import { ensureConsumer } from "./ensure-consumer";
import type { EventStream } from "./contract";
import { durablesOf, type ConsumerPlace } from "./durable-consumers";
import type { EventsConfig } from "../events-config";
import { LastErrors } from "../dead-letters/last-errors";
import { ensureStreams, isNotFound, type EventNames, type StreamOutcome } from "./streams";

/** What provisioning did to one stream, bucket or durable consumer (`ORDERS`, `ORDERS/notification-order-emails`). */
export type ProvisionOutcome = StreamOutcome;

/**
 * Everything on JetStream a platform's events need, as configured: its event streams, the dead
 * letters and their advisories, the consumers' error bucket, and every event consumer's durables (its
 * own and its dead-letter writers'). The operator's job on a platform with identities (`bun run cli
 * streams`, and `bun run dev` before it starts the services); on an open bus each service does its own
 * at start.
 */
export async function provisionEventStreams(
  nc: NatsConnection,
  names: EventNames,
  cfg: EventsConfig,
  log: Logger,
  { streams, consumers = [] }: { streams: readonly EventStream[]; consumers?: readonly ConsumerPlace[] },
): Promise<ProvisionOutcome[]> {
  const jsm = await jetstreamManager(nc);
  const outcomes: ProvisionOutcome[] = await ensureStreams(jsm, names, cfg, log, streams);
  const bucket = `KV_${names.errorBucket}`;
  const existed = await jsm.streams.info(bucket).then(
    () => true,
    (e) => {
      if (isNotFound(e)) return false;
      throw e;
    },
  );
  await LastErrors.ensureBucket(nc, names, cfg.STREAM_REPLICAS);
  outcomes.push({ stream: bucket, outcome: existed ? "unchanged" : "created" });
  for (const place of consumers) {
    for (const { stream, config } of durablesOf(names, cfg, place)) {
      const o = await ensureConsumer(jsm, stream, config, log);
      outcomes.push({ stream: `${stream}/${o.consumer}`, outcome: o.outcome, changed: o.changed });
    }
  }
  return outcomes;
}
