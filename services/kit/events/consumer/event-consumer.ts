import { fromBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import type { JetStreamClient, JetStreamManager, JsMsg } from "@nats-io/jetstream";
import type { Database } from "../../db/database";
import type { Logger } from "../../log";
import { CE, readEventMeta, REPLAY_FOR, REPLAY_OF, type EventMeta } from "../cloud-event-headers";
import { inProgressEvery, runConsumerLoop, type ConsumerLoop } from "./consumer-loop";
import { ensureConsumer } from "../topology/ensure-consumer";
import type { DeadLetters } from "../dead-letters/dead-letter-queue";
import { eventConsumerDurable } from "../topology/durable-consumers";
import type { EventStream, EventType } from "../topology/contract";
import type { EventsConfig } from "../events-config";
import type { EventsMetrics } from "../events-metrics";
import { backoffDelay, describeError, isRetryable } from "./handler-failure";
import { claimEvent, claimEvents, handledWithAnotherPayload, payloadHash, recordHandled, wasHandled } from "./inbox";
import { LastErrors } from "../dead-letters/last-errors";
import { batches } from "./batches";
import type { EventNames } from "../topology/streams";

/** Transactions of one batching consumer instance at once: one can wait for its commit while another works. */
const BATCHES_IN_FLIGHT = 2;

export interface HandlerContext<S extends Record<string, unknown> = Record<string, never>> {
  /** The transaction that also records the event in the inbox: write the handler's effect through it. */
  tx: Database<S>;
  meta: EventMeta;
  /** 1 on the first delivery. */
  deliveryCount: number;
  log: Logger;
}

export interface EventHandler<S extends Record<string, unknown> = Record<string, never>> {
  readonly type: EventType;
  handle(event: unknown, ctx: HandlerContext<S>): Promise<void>;
  validate?(event: unknown): string | undefined;
  /** See `on`'s option of the same name. */
  readonly ownTransactions?: boolean;
}

/**
 * A typed handler for one event type. `validate` names what makes the event unusable (it is then
 * terminated at once, as poison); `handle` throws a retryable error to be tried again later, or a
 * PoisonMessage to give up at once.
 *
 * @example
 *   on(OrderConfirmed, async ({ order }, { tx }) => { ... }, { validate: (e) => (e.order ? undefined : "order is missing") })
 */
export function on<D extends DescMessage, S extends Record<string, unknown> = Record<string, never>>(
  type: EventType<D>,
  handle: (event: MessageShape<D>, ctx: HandlerContext<S>) => Promise<void>,
  opts: {
    validate?(event: MessageShape<D>): string | undefined;
    /**
     * The handler calls other services or runs transactions of its own, so no transaction is held open
     * while it works (that would pin a connection across remote calls, and with PGlite's single
     * connection, or a pool full of such handlers, wait for itself). `ctx.tx` is then the database
     * itself, the inbox row is written after the handler, and the handler's effects must be idempotent:
     * a crash between them and the inbox row repeats them on redelivery.
     */
    ownTransactions?: boolean;
  } = {},
): EventHandler<S> {
  return {
    type,
    handle: (event, ctx) => handle(event as MessageShape<D>, ctx),
    validate: opts.validate && ((event) => opts.validate!(event as MessageShape<D>)),
    ownTransactions: opts.ownTransactions,
  };
}

/**
 * A durable consumer of one stream, named for what it does ("notification-order-emails"): the
 * replicas of the service share it. Events of the stream it has no handler for pass by (acked);
 * an event of a type not declared for the stream is dead-lettered (CONSUMER_UNKNOWN_EVENTS).
 */
export interface EventConsumer {
  readonly name: string;
  readonly stream: EventStream;
  // Handlers of any service schema: the kit runs them over that service's database.
  readonly handlers: readonly EventHandler<any>[];
  /** See defineConsumer. */
  readonly batch?: number;
}

/**
 * `batch`: up to this many events, of different entities, are handled in one transaction with one
 * inbox insert, so a busy consumer commits (and waits for the WAL flush) once per batch rather than once
 * per event. Only for handlers whose whole effect is in that transaction (afterCommit callbacks
 * included): when any event of a batch fails, the batch rolls back and each of its events is handled
 * again in a transaction of its own, so an effect outside the transaction (an e-mail sent, a call made)
 * could happen twice. Not with `ownTransactions` handlers.
 */
export function defineConsumer<S extends Record<string, unknown>>(def: {
  name: string;
  stream: EventStream;
  handlers: EventHandler<S>[];
  batch?: number;
}): EventConsumer {
  if (!/^[a-z][a-z0-9-]{0,62}$/.test(def.name))
    throw new Error(`consumer name "${def.name}" must be lower-case letters, digits and dashes`);
  if (def.batch !== undefined && !(Number.isInteger(def.batch) && def.batch >= 1 && def.batch <= 1000))
    throw new Error(`consumer ${def.name}: batch must be an integer from 1 to 1000`);
  const own = def.batch && def.batch > 1 && def.handlers.find((h) => h.ownTransactions);
  if (own)
    throw new Error(
      `consumer ${def.name} batches events in one transaction, but its ${own.type.type} handler runs its own (ownTransactions)`,
    );
  const types = def.handlers.map((h) => h.type.type);
  const twice = types.find((t, i) => types.indexOf(t) !== i);
  if (twice) throw new Error(`consumer ${def.name} has two handlers for ${twice}`);
  const elsewhere = def.handlers.find((h) => h.type.stream !== def.stream);
  if (elsewhere)
    throw new Error(
      `consumer ${def.name} reads ${def.stream.name}, but ${elsewhere.type.type} is on ${elsewhere.type.stream.name}`,
    );
  return def;
}

/**
 * Runs an event consumer, CONSUMER_CONCURRENCY messages at a time (one entity's, by ce-subject, in
 * order): explicit ack after the handler's transaction committed (with the inbox row in
 * it); a retryable failure is nak'ed with the CONSUMER_BACKOFF_MS delay for that delivery, and on the
 * last allowed delivery without one, so the server dead-letters it at once; poison (no event headers,
 * undecodable, invalid, a non-retryable error) is terminated. Every failure's reason is recorded for
 * the dead letter. A consumer defined with `batch` handles events of different entities together, in one
 * transaction per batch (see defineConsumer).
 */
export async function startEventConsumer(
  def: EventConsumer,
  deps: {
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
  },
): Promise<ConsumerLoop> {
  const { cfg, names, lastErrors } = deps;
  const stream = names.stream(def.stream);
  const log = deps.log.child({ consumer: def.name });
  const byType = new Map(def.handlers.map((h) => [h.type.type, h]));
  const outcomes = deps.metrics.consumed;
  const config = eventConsumerDurable(names, cfg, { stream: def.stream, consumer: def.name });
  // Deliveries and ack wait as the server holds them: under identities the operator set them.
  const { config: held } = await ensureConsumer(deps.jsm, stream, config, log);
  const maxDeliver =
    held.max_deliver !== undefined && held.max_deliver > 0 ? held.max_deliver : Number.POSITIVE_INFINITY;
  const ackWaitMs = held.ack_wait ? held.ack_wait / 1_000_000 : cfg.CONSUMER_ACK_WAIT_MS;

  const poison = async (m: JsMsg, type: string, reason: string) => {
    const key = LastErrors.key(stream, def.name, m.info.streamSequence);
    await lastErrors.record(key, {
      error: reason,
      kind: "terminated",
      deliveries: m.info.deliveryCount,
      at: new Date().toISOString(),
    });
    log.error(
      { stream_seq: m.info.streamSequence, deliveries: m.info.deliveryCount, reason },
      "poison message; terminated",
    );
    outcomes.inc({ consumer: def.name, type, outcome: "poison" });
    if (deps.termTakesReason) m.term(reason);
    else m.term();
  };

  /** A message that is an event this consumer handles, decoded and valid: what is left is to handle it. */
  interface Delivery {
    m: JsMsg;
    meta: Extract<EventMeta, { id: string }>;
    handler: EventHandler<any>;
    event: unknown;
    /** Of its type and payload, kept with its inbox row (see payloadHash). */
    hash: string;
    log: Logger;
  }
  const contextOf = (d: Delivery, tx: Database<any>): HandlerContext<any> => ({
    tx,
    meta: d.meta,
    deliveryCount: d.m.info.deliveryCount,
    log: d.log,
  });
  const inboxRowOf = (d: Delivery) => ({
    consumer: def.name,
    eventId: d.meta.id,
    eventType: d.meta.type,
    payloadHash: d.hash,
  });

  /** An event no one declared for this stream, or on another subject than its type's: dead-lettered, or skipped when so configured. */
  const unknown = async (m: JsMsg, type: string, why: string) => {
    if (cfg.CONSUMER_UNKNOWN_EVENTS === "dead-letter") return poison(m, type, why);
    log.warn({ stream_seq: m.info.streamSequence, event_type: type, subject: m.subject, why }, "unknown event skipped");
    m.ack();
    outcomes.inc({ consumer: def.name, type, outcome: "unknown" });
  };

  /** Acks, skips or terminates what is not for a handler; the rest is a Delivery. */
  const accept = async (m: JsMsg): Promise<Delivery | undefined> => {
    const meta = readEventMeta(m.headers);
    if ("problem" in meta) return void (await poison(m, "", `not an event: ${meta.problem}`));
    const replayFor = m.headers?.get(REPLAY_FOR);
    if (replayFor && replayFor !== def.name) {
      // Another consumer's replay: not ours.
      m.ack();
      outcomes.inc({ consumer: def.name, type: meta.type, outcome: "skipped" });
      return;
    }
    const handler = byType.get(meta.type);
    const declared = handler?.type ?? def.stream.events.find((e) => e.type === meta.type);
    if (!declared || declared.stream !== def.stream)
      return void (await unknown(m, meta.type, `unknown event type ${meta.type} on ${m.subject}`));
    if (names.subject(declared.subject) !== m.subject)
      return void (await unknown(
        m,
        meta.type,
        `${meta.type} arrived on ${m.subject}, but its subject is ${names.subject(declared.subject)}`,
      ));
    if (!handler) {
      // An event of this stream this consumer does not care about.
      m.ack();
      outcomes.inc({ consumer: def.name, type: meta.type, outcome: "skipped" });
      return;
    }
    let event: unknown;
    try {
      event = fromBinary(handler.type.schema, m.data);
    } catch (e) {
      return void (await poison(m, meta.type, `undecodable ${meta.type}: ${describeError(e)}`));
    }
    const invalid = handler.validate?.(event);
    if (invalid) return void (await poison(m, meta.type, `invalid ${meta.type}: ${invalid}`));
    const elog = log.child({
      event_id: meta.id,
      event_type: meta.type,
      traceparent: meta.traceparent,
      deliveries: m.info.deliveryCount,
    });
    return { m, meta, handler, event, hash: payloadHash(meta.type, m.data), log: elog };
  };

  /**
   * Once its transaction committed (or the inbox said it was handled before). An event handled before
   * under the same id but with another payload is no redelivery: a forgery or a producer's bug, and a
   * dead letter, never silently acked.
   */
  const handled = async (d: Delivery, fresh: boolean) => {
    const { m, meta } = d;
    if (!fresh) {
      if (await handledWithAnotherPayload(deps.db, inboxRowOf(d)))
        return poison(
          m,
          meta.type,
          `${meta.type} ${meta.id} was handled before with another payload; this one is not a redelivery`,
        );
    }
    m.ack();
    outcomes.inc({ consumer: def.name, type: meta.type, outcome: fresh ? "handled" : "duplicate" });
    if (fresh) d.log.info("event handled");
    else d.log.info("event handled before; acked without effect");
    if (m.info.deliveryCount > 1)
      await lastErrors.clear(LastErrors.key(stream, def.name, m.info.streamSequence)).catch(() => {});
    const replayOf = Number(m.headers?.get(REPLAY_OF));
    if (replayOf) {
      const resolved = await deps.deadLetters.resolveReplayed(m.headers, def.name).catch((e) => {
        d.log.warn({ err: e, dlq_id: replayOf }, "cannot resolve the replayed dead letter");
        return undefined;
      });
      if (resolved) d.log.info({ dlq_id: replayOf }, "replayed dead letter handled; entry resolved");
      else if (resolved === false)
        d.log.warn(
          { dlq_id: replayOf },
          "the copy's replay of that dead letter is not the operator's (or the entry is gone); left alone",
        );
    }
  };

  /** Retried later with the backoff, or terminated when the error says it never will succeed. */
  const failed = async (d: Delivery, e: unknown) => {
    const { m, meta } = d;
    if (!isRetryable(e)) return poison(m, meta.type, `${meta.type} ${meta.id}: ${describeError(e)}`);
    const deliveries = m.info.deliveryCount;
    const last = deliveries >= maxDeliver;
    const delay = last ? 0 : backoffDelay(cfg.CONSUMER_BACKOFF_MS, deliveries);
    const key = LastErrors.key(stream, def.name, m.info.streamSequence);
    await lastErrors.record(key, {
      error: `${meta.type} ${meta.id}: ${describeError(e)}`,
      kind: "retry",
      deliveries,
      at: new Date().toISOString(),
    });
    d.log.warn(
      { err: e, retry_in_ms: last ? undefined : delay, max_deliver: maxDeliver },
      last ? "handler failed on the last delivery" : "handler failed; retrying later",
    );
    outcomes.inc({ consumer: def.name, type: meta.type, outcome: "retry" });
    m.nak(delay);
  };

  /** One event in a transaction of its own (or, for ownTransactions handlers, none). */
  const handleAlone = async (d: Delivery) => {
    let fresh: boolean;
    try {
      const row = inboxRowOf(d);
      fresh = d.handler.ownTransactions
        ? await (async () => {
            if (await wasHandled(deps.db, row)) return false;
            await d.handler.handle(d.event, contextOf(d, deps.db));
            await recordHandled(deps.db, row);
            return true;
          })()
        : await deps.db.transaction(async (tx) => {
            // The inbox row first: a concurrent copy of the same event waits here, then finds it taken.
            if (!(await claimEvent(tx, row))) return false;
            await d.handler.handle(d.event, contextOf(d, tx));
            return true;
          });
    } catch (e) {
      return failed(d, e);
    }
    await handled(d, fresh);
  };

  /**
   * Events of different entities in one transaction. If a handler fails, that event is tried again
   * alone and the others together; if the transaction fails otherwise (the inbox insert, the commit),
   * each is tried alone. Either way only an event's own failure counts against it.
   */
  const handleTogether = async (ds: Delivery[]): Promise<void> => {
    if (ds.length === 1) return handleAlone(ds[0]!);
    let fresh: boolean[];
    let failing: Delivery | undefined;
    // A batch takes as long as its events together: none of them may run out of ack wait meanwhile.
    // Only while the transaction runs: a message acked or nak'ed after it must not be touched again.
    const beat = setInterval(() => ds.forEach((d) => d.m.working()), inProgressEvery(ackWaitMs));
    try {
      fresh = await deps.db
        .transaction(async (tx) => {
          const claimed = await claimEvents(tx, def.name, ds.map(inboxRowOf));
          const out: boolean[] = [];
          for (const d of ds) {
            // delete: two copies of one event in a batch (published twice) are handled once.
            const first = claimed.delete(d.meta.id);
            if (first) {
              failing = d;
              await d.handler.handle(d.event, contextOf(d, tx));
              failing = undefined;
            }
            out.push(first);
          }
          return out;
        })
        .finally(() => clearInterval(beat));
    } catch (e) {
      log.debug(
        { err: e, events: ds.length, failing_event_id: failing?.meta.id },
        "batch rolled back; its events are handled again",
      );
      if (failing) await Promise.all([handleAlone(failing), handleTogether(ds.filter((d) => d !== failing))]);
      else await Promise.all(ds.map(handleAlone));
      return;
    }
    await Promise.all(ds.map((d, i) => handled(d, fresh[i]!)));
  };

  const batchSize = def.batch ?? 1;
  const batchEvents = deps.metrics.batchEvents.labels({ consumer: def.name });
  const handleDelivery =
    batchSize > 1
      ? batches(
          (ds: Delivery[]) => {
            batchEvents.observe(ds.length);
            return handleTogether(ds);
          },
          { max: batchSize, parallel: BATCHES_IN_FLIGHT },
        )
      : handleAlone;
  const handle = async (m: JsMsg) => {
    const d = await accept(m);
    if (d) await handleDelivery(d);
  };

  return runConsumerLoop({
    js: deps.js,
    jsm: deps.jsm,
    stream,
    config,
    log,
    handle,
    // A batching consumer holds enough for its batches in flight and the next one filling.
    concurrency: Math.max(cfg.CONSUMER_CONCURRENCY, batchSize * (BATCHES_IN_FLIGHT + 1)),
    // One entity's events (ce-subject) are handled in stream order; different entities' side by side.
    keyOf: (m) => m.headers?.get(CE.subject) || undefined,
    ackWaitMs,
  });
}
