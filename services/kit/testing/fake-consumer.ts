import type { ConsumerConfig, JsMsg } from "@nats-io/jetstream";
import { headers as natsHeaders, type MsgHdrs } from "@nats-io/transport-node";
import pino from "pino";
import type { Env } from "../config";
import type { DeadLetters } from "../events/dead-letters/dead-letter-queue";
import type { LastErrors, RecordedFailure } from "../events/dead-letters/last-errors";
import { consumerContext, type ConsumerContext } from "../events/consumer/consumer-context";
import type { EventConsumer } from "../events/consumer/event-consumer";
import { eventsConfig } from "../events/events-config";
import { eventsMetrics } from "../events/events-metrics";
import { EventNames } from "../events/topology/streams";

/** How a fake message was settled, in order: "ack", "nak <ms>", "term", "term <reason>", "working". */
export type Settled = string[];

/**
 * A message for a consumer's parts tested without NATS: it records its acks, naks and terms in `settled`.
 *
 * @example
 *   const { m, settled } = fakeMessage({ subject: "orders.created", headers: eventHeaders(meta), data });
 */
export function fakeMessage(opts: {
  subject: string;
  headers?: MsgHdrs | Record<string, string>;
  data?: Uint8Array;
  deliveryCount?: number;
  streamSequence?: number;
}): { m: JsMsg; settled: Settled } {
  const settled: Settled = [];
  let h = opts.headers;
  if (h && !("get" in h)) {
    const built = natsHeaders();
    for (const [k, v] of Object.entries(h)) built.set(k, v as string);
    h = built;
  }
  const m = {
    subject: opts.subject,
    headers: h,
    data: opts.data ?? new Uint8Array(),
    info: { deliveryCount: opts.deliveryCount ?? 1, streamSequence: opts.streamSequence ?? 1 },
    ack: () => void settled.push("ack"),
    nak: (ms?: number) => void settled.push(`nak ${ms}`),
    term: (reason?: string) => void settled.push(reason === undefined ? "term" : `term ${reason}`),
    working: () => void settled.push("working"),
  };
  return { m: m as unknown as JsMsg, settled };
}

/**
 * A consumer's context without NATS or a database: the last errors it records and clears are kept in
 * `recorded` and `cleared`, replayed dead letters resolve as `resolves` says (each attempt in `replays`). The parts that reach the
 * inbox need a real database (see event-consumer.test.ts).
 */
export function fakeConsumerContext(
  def: EventConsumer,
  opts: { env?: Env; maxDeliver?: number; ackWaitMs?: number; termTakesReason?: boolean; resolves?: boolean } = {},
): { ctx: ConsumerContext; recorded: Map<string, RecordedFailure>; cleared: string[]; replays: string[] } {
  const recorded = new Map<string, RecordedFailure>();
  const cleared: string[] = [];
  const lastErrors = {
    record: async (key: string, failure: RecordedFailure) => void recorded.set(key, failure),
    clear: async (key: string) => void cleared.push(key),
  };
  const replays: string[] = [];
  const deadLetters = {
    resolveReplayed: async (_: MsgHdrs | undefined, consumer: string) => {
      replays.push(consumer);
      return opts.resolves ?? true;
    },
  };
  const cfg = eventsConfig({ EVENTS_PREFIX: "t", ...opts.env });
  const names = new EventNames(cfg.EVENTS_PREFIX);
  const held: ConsumerConfig = {
    max_deliver: opts.maxDeliver ?? cfg.CONSUMER_MAX_DELIVER,
    ack_wait: (opts.ackWaitMs ?? cfg.CONSUMER_ACK_WAIT_MS) * 1_000_000,
  } as ConsumerConfig;
  const ctx = consumerContext(def, {
    js: undefined as never,
    jsm: undefined as never,
    db: undefined as never,
    names,
    cfg,
    log: pino({ level: "silent" }),
    lastErrors: lastErrors as unknown as LastErrors,
    deadLetters: deadLetters as unknown as DeadLetters,
    termTakesReason: opts.termTakesReason ?? true,
    metrics: eventsMetrics(),
    stream: names.stream(def.stream),
    held,
  });
  return { ctx, recorded, cleared, replays };
}
