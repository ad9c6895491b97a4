import type { ConsumerConfig, JetStreamClient, JetStreamManager, JsMsg } from "@nats-io/jetstream";
import type { Logger } from "../../log";
import { isNotFound, isPermissionDenied } from "../topology/streams";

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

/** How often a message held longer than usual tells the server it is in progress: three times per ack wait. */
export const inProgressEvery = (ackWaitMs: number) => Math.max(20, Math.floor(ackWaitMs / 3));

export interface ConsumerLoop {
  /** Stops pulling, lets the messages in hand finish (bounded by `graceMs`). */
  stop(graceMs?: number): Promise<void>;
}

/** How long a pull request stays open on an idle consumer before the next one. */
const PULL_EXPIRES_MS = 5000;

/**
 * Pulls from a durable consumer and hands each message to `handle`, which acks, naks or terms it; up
 * to `concurrency` messages are in hand at once (1 by default). Messages of one `key` (the entity id)
 * are handled one after another in stream order; others run side by side. Ack wait stays honest:
 * a pull asks only for as many messages as there are free places, so none waits in a client buffer,
 * and one queued behind an earlier message of its key tells the server it is in progress while it
 * waits (its clock starts when its own handling starts). Replicas of the service pull from the same
 * consumer and share the work. If the pull fails (the consumer was deleted, NATS went away for long)
 * it is set up again.
 */
export function runConsumerLoop(opts: {
  js: JetStreamClient;
  jsm: JetStreamManager;
  stream: string;
  config: DurableConfig;
  log: Logger;
  handle(m: JsMsg): Promise<void>;
  /** Messages in hand at once; default 1. */
  concurrency?: number;
  /** Messages with the same key are handled in order; undefined: no order kept. */
  keyOf?(m: JsMsg): string | undefined;
  /** The consumer's ack wait, for the in-progress signal of queued messages; default 30 s. */
  ackWaitMs?: number;
}): ConsumerLoop {
  const { js, jsm, stream, config, log } = opts;
  const concurrency = Math.max(1, opts.concurrency ?? 1);
  // Pull again once half the places are free: fewer, fuller pulls while the handlers are busy.
  const refillAt = Math.ceil(concurrency / 2);
  const heartbeatMs = inProgressEvery(opts.ackWaitMs ?? 30_000);
  let stopped = false;
  let messages: { stop(): void } | undefined;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let wakeRetry: (() => void) | undefined;

  let inHand = 0;
  const handling = new Set<Promise<void>>();
  /** The last message taken per key: the next one of that key waits for it. */
  const tails = new Map<string, Promise<void>>();
  let placeFreed: (() => void) | undefined;

  const handleOne = (m: JsMsg) =>
    opts.handle(m).catch((e) => {
      // handle() decides ack/nak/term itself; reaching here is a bug, and redelivery recovers it.
      log.error({ err: e, consumer: config.durable_name }, "message handling crashed; it will be redelivered");
    });

  const take = (m: JsMsg) => {
    inHand++;
    const key = opts.keyOf?.(m);
    const before = key === undefined ? undefined : tails.get(key);
    const done = (async () => {
      if (before) {
        const beat = setInterval(() => m.working(), heartbeatMs);
        try {
          await before;
        } finally {
          clearInterval(beat);
        }
      }
      await handleOne(m);
    })();
    handling.add(done);
    if (key !== undefined) tails.set(key, done);
    void done.finally(() => {
      handling.delete(done);
      if (key !== undefined && tails.get(key) === done) tails.delete(key);
      inHand--;
      placeFreed?.();
    });
  };

  const freePlaces = async () => {
    while (!stopped && concurrency - inHand < refillAt) await new Promise<void>((resolve) => (placeFreed = resolve));
    placeFreed = undefined;
    return concurrency - inHand;
  };

  const loop = (async () => {
    while (!stopped) {
      try {
        const consumer = await js.consumers.get(stream, config.durable_name);
        while (!stopped) {
          const free = await freePlaces();
          if (stopped) break;
          const batch = await consumer.fetch({ max_messages: free, expires: PULL_EXPIRES_MS });
          messages = batch;
          if (stopped) batch.stop();
          for await (const m of batch) take(m);
        }
      } catch (e) {
        if (stopped) break;
        log.warn(
          { err: e, stream, consumer: config.durable_name },
          "consumer subscription failed; setting it up again",
        );
      }
      if (stopped) break;
      await new Promise<void>((resolve) => {
        wakeRetry = resolve;
        retry = setTimeout(resolve, 1000);
      });
      // The consumer may have been deleted: put it back as configured.
      await ensureConsumer(jsm, stream, config, log).catch(() => {});
    }
  })();

  return {
    async stop(graceMs = 10_000) {
      stopped = true;
      clearTimeout(retry);
      wakeRetry?.();
      placeFreed?.();
      messages?.stop();
      await Promise.race([Promise.all([loop, ...handling]), Bun.sleep(graceMs)]);
    },
  };
}
