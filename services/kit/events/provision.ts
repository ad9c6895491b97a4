import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "../log";
import type { EventsConfig } from "./events-config";
import { LastErrors } from "./last-errors";
import { ensureStreams, isNotFound, type EventNames, type StreamOutcome } from "./streams";

/**
 * Everything on JetStream the platform's events need, as configured: the domain streams, the dead
 * letters and their advisories, and the consumers' error bucket. The operator's job on a platform with
 * identities (`bun run cli streams`, and `bun run dev` before it starts the services); on an open bus
 * each service does it at start.
 */
export async function provisionEventStreams(nc: NatsConnection, names: EventNames, cfg: EventsConfig, log: Logger): Promise<StreamOutcome[]> {
  const jsm = await jetstreamManager(nc);
  const outcomes = await ensureStreams(jsm, names, cfg, log);
  const bucket = `KV_${names.errorBucket}`;
  const existed = await jsm.streams.info(bucket).then(
    () => true,
    (e) => {
      if (isNotFound(e)) return false;
      throw e;
    },
  );
  await LastErrors.ensureBucket(nc, names, cfg.STREAM_REPLICAS);
  return [...outcomes, { stream: bucket, outcome: existed ? "unchanged" : "created" }];
}
