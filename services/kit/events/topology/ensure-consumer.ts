import type { ConsumerConfig, JetStreamManager } from "@nats-io/jetstream";
import type { Logger } from "../../log";
import { isNotFound, isPermissionDenied } from "./streams";

/** Settings compared with an existing durable consumer; any difference is updated in place. */
const UPDATABLE = ["description", "ack_wait", "max_deliver", "filter_subject", "backoff", "max_ack_pending"] as const;

export type DurableConfig = Partial<ConsumerConfig> & { durable_name: string };

export interface ConsumerOutcome {
  stream: string;
  consumer: string;
  outcome: "created" | "updated" | "unchanged" | "differs";
  changed?: string[];
  /** The consumer's settings as the server holds them: what its ack wait and deliveries really are. */
  config: ConsumerConfig;
}

/** Creating and changing durable consumers is the operator's on a platform with identities. */
export class ConsumersNotProvisioned extends Error {}

/**
 * Creates a durable consumer, or updates it to `config`. Replicas starting together may race: the
 * loser of a create updates instead. On a platform with identities a service may not create or change
 * a consumer (whoever may, may also point a push consumer at any subject and have the server publish
 * there for it): a missing one fails with ConsumersNotProvisioned, one whose settings differ is used as
 * it is and the difference logged for the operator (`bun run cli streams`).
 */
export async function ensureConsumer(
  jsm: JetStreamManager,
  stream: string,
  config: DurableConfig,
  log?: Logger,
): Promise<ConsumerOutcome> {
  const name = config.durable_name;
  const found = (
    info: { config: ConsumerConfig },
    outcome: ConsumerOutcome["outcome"],
    changed?: string[],
  ): ConsumerOutcome => ({ stream, consumer: name, outcome, changed, config: info.config });
  const existing = await jsm.consumers.info(stream, name).catch((e) => {
    if (isNotFound(e)) return undefined;
    if (isPermissionDenied(e))
      throw new ConsumersNotProvisioned(
        `this identity may not read consumer ${name} on ${stream}: is it this service's, and were the identities made for this EVENTS_PREFIX? (bun run cli identities)`,
      );
    throw e;
  });
  if (!existing) {
    try {
      return found(await jsm.consumers.add(stream, config), "created");
    } catch (e) {
      if (isPermissionDenied(e))
        throw new ConsumersNotProvisioned(
          `consumer ${name} on ${stream} does not exist, and this identity may not create consumers: the operator provisions them (bun run cli streams)`,
        );
      if (!/already (exists|in use)/i.test(String(e))) throw e;
    }
  }
  const current = existing ?? (await jsm.consumers.info(stream, name));
  const changed = UPDATABLE.filter(
    (k) => config[k] !== undefined && JSON.stringify(current.config[k]) !== JSON.stringify(config[k]),
  );
  if (!changed.length) return found(current, "unchanged");
  try {
    return found(
      await jsm.consumers.update(stream, name, Object.fromEntries(changed.map((k) => [k, config[k]]))),
      "updated",
      changed,
    );
  } catch (e) {
    if (!isPermissionDenied(e)) throw e;
    log?.warn(
      { stream, consumer: name, changed },
      "consumer settings differ from the configuration; the operator applies them (bun run cli streams)",
    );
    return found(current, "differs", changed);
  }
}
