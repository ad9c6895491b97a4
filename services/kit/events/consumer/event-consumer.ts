import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import type { Database } from "../../db/database";
import type { Logger } from "../../log";
import type { EventMeta } from "../cloud-event-headers";
import type { EventStream, EventType } from "../topology/contract";

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
