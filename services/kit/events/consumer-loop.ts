import type { ConsumerConfig, JetStreamClient, JetStreamManager, JsMsg } from "@nats-io/jetstream";
import type { Logger } from "../log";
import { isNotFound } from "./streams";

/** Settings compared with an existing durable consumer; any difference is updated in place. */
const UPDATABLE = ["description", "ack_wait", "max_deliver", "filter_subject", "backoff", "max_ack_pending"] as const;

/**
 * Creates a durable consumer, or updates it to `config`. Replicas starting together may race: the
 * loser of a create updates instead.
 */
export async function ensureConsumer(jsm: JetStreamManager, stream: string, config: Partial<ConsumerConfig> & { durable_name: string }): Promise<void> {
  const name = config.durable_name;
  const existing = await jsm.consumers.info(stream, name).catch((e) => {
    if (isNotFound(e)) return undefined;
    throw e;
  });
  if (!existing) {
    try {
      await jsm.consumers.add(stream, config);
      return;
    } catch (e) {
      if (!/already (exists|in use)/i.test(String(e))) throw e;
    }
  }
  const current = existing?.config ?? (await jsm.consumers.info(stream, name)).config;
  const changed = UPDATABLE.filter((k) => config[k] !== undefined && JSON.stringify(current[k]) !== JSON.stringify(config[k]));
  if (changed.length) await jsm.consumers.update(stream, name, Object.fromEntries(changed.map((k) => [k, config[k]])));
}

export interface ConsumerLoop {
  /** Stops pulling, lets the message in hand finish (bounded by `graceMs`). */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Pulls from a durable consumer one message at a time and hands each to `handle`, which acks, naks or
 * terms it. One at a time per instance keeps ack wait honest (nothing waits in a client buffer while
 * its clock runs); replicas of the service pull from the same consumer and share the work. If the
 * subscription ends (the consumer was deleted, NATS went away for long) it is set up again.
 */
export function runConsumerLoop(opts: {
  js: JetStreamClient;
  jsm: JetStreamManager;
  stream: string;
  config: Partial<ConsumerConfig> & { durable_name: string };
  log: Logger;
  handle(m: JsMsg): Promise<void>;
}): ConsumerLoop {
  const { js, jsm, stream, config, log } = opts;
  let stopped = false;
  let messages: { stop(): void } | undefined;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let wakeRetry: (() => void) | undefined;

  const loop = (async () => {
    while (!stopped) {
      try {
        const consumer = await js.consumers.get(stream, config.durable_name);
        const iter = await consumer.consume({ max_messages: 1 });
        messages = iter;
        if (stopped) iter.stop();
        for await (const m of iter) {
          await opts.handle(m).catch((e) => {
            // handle() decides ack/nak/term itself; reaching here is a bug, and redelivery recovers it.
            log.error({ err: e, consumer: config.durable_name }, "message handling crashed; it will be redelivered");
          });
          if (stopped) break;
        }
      } catch (e) {
        if (stopped) break;
        log.warn({ err: e, stream, consumer: config.durable_name }, "consumer subscription failed; setting it up again");
      }
      if (stopped) break;
      await new Promise<void>((resolve) => {
        wakeRetry = resolve;
        retry = setTimeout(resolve, 1000);
      });
      // The consumer may have been deleted: put it back as configured.
      await ensureConsumer(jsm, stream, config).catch(() => {});
    }
  })();

  return {
    async stop(graceMs = 10_000) {
      stopped = true;
      clearTimeout(retry);
      wakeRetry?.();
      messages?.stop();
      await Promise.race([loop, Bun.sleep(graceMs)]);
    },
  };
}
