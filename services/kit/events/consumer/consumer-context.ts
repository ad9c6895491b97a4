import type { ConsumerConfig, JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import type { Database } from "../../db/database";
import type { Logger } from "../../log";
import type { DeadLetters } from "../dead-letters/dead-letter-queue";
import type { LastErrors } from "../dead-letters/last-errors";
import type { EventsConfig } from "../events-config";
import type { EventsMetrics } from "../events-metrics";
import type { EventNames } from "../topology/streams";
import type { EventConsumer, EventHandler } from "./event-consumer";

/** What a service's events give each consumer they start (see startEvents). */
export interface ConsumerDeps {
  js: JetStreamClient;
  jsm: JetStreamManager;
  db: Database<any>;
  names: EventNames;
  cfg: EventsConfig;
  log: Logger;
  lastErrors: LastErrors;
  deadLetters: DeadLetters;
  /** The server takes a reason with a term (2.11+); older ones ignore such an ack. */
  termTakesReason: boolean;
  metrics: EventsMetrics;
}

/**
 * One running consumer: its definition, settings and dependencies, built once when it starts and handed
 * to each of its parts (decode, inbox, settle, handle). Nothing in it changes while the consumer runs.
 */
export interface ConsumerContext {
  readonly def: EventConsumer;
  /** The stream's name on the server. */
  readonly stream: string;
  /** The consumer's handlers by event type. */
  readonly byType: ReadonlyMap<string, EventHandler<any>>;
  readonly db: Database<any>;
  readonly names: EventNames;
  readonly cfg: EventsConfig;
  /** The consumer's log (its name in every line). */
  readonly log: Logger;
  readonly lastErrors: LastErrors;
  readonly deadLetters: DeadLetters;
  readonly termTakesReason: boolean;
  readonly metrics: EventsMetrics;
  /** Deliveries the server allows (Infinity when unlimited): the last one fails without a retry delay. */
  readonly maxDeliver: number;
  /** The ack wait the server holds, in ms. */
  readonly ackWaitMs: number;
}

/**
 * The context of `def`. `log` is the consumer's own, `stream` the stream's name on the server, and
 * `held` the durable consumer as the server holds it: its deliveries and ack wait count, as under
 * identities the operator set them.
 */
export function consumerContext(
  def: EventConsumer,
  deps: ConsumerDeps & { stream: string; held: ConsumerConfig },
): ConsumerContext {
  const { held, cfg } = deps;
  return {
    def,
    stream: deps.stream,
    byType: new Map(def.handlers.map((h) => [h.type.type, h])),
    db: deps.db,
    names: deps.names,
    cfg,
    log: deps.log,
    lastErrors: deps.lastErrors,
    deadLetters: deps.deadLetters,
    termTakesReason: deps.termTakesReason,
    metrics: deps.metrics,
    maxDeliver: held.max_deliver !== undefined && held.max_deliver > 0 ? held.max_deliver : Number.POSITIVE_INFINITY,
    ackWaitMs: held.ack_wait ? held.ack_wait / 1_000_000 : cfg.CONSUMER_ACK_WAIT_MS,
  };
}
