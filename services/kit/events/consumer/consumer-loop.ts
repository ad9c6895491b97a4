import type { JetStreamClient, JetStreamManager, JsMsg } from "@nats-io/jetstream";
import type { Logger } from "../../log";
import { ensureConsumer, type DurableConfig } from "../topology/ensure-consumer";

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
