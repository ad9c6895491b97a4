import type { DescMessage } from "@bufbuild/protobuf";

/**
 * A stream of one domain's events, declared by the service that owns the domain (its contract file):
 * stream `ORDERS` on subjects `orders.>`. Its events are those declared on it with defineEvent; a
 * consumer of the stream dead-letters any other type.
 */
export interface EventStream {
  /** Upper-case, unprefixed: `ORDERS` (EVENTS_PREFIX makes it `t1_ORDERS`). */
  readonly name: string;
  /** The first subject token: `orders`. */
  readonly domain: string;
  readonly events: readonly EventType[];
}

/**
 * An event: its protobuf message and the subject it travels on (`<domain>.<event>`, unprefixed).
 * The CloudEvents type is the message's full name, e.g. `shop.order.v1.OrderConfirmed`.
 */
export interface EventType<D extends DescMessage = DescMessage> {
  readonly schema: D;
  readonly subject: string;
  readonly type: string;
  readonly stream: EventStream;
}

export function defineStream(name: string, domain: string): EventStream {
  if (!/^[A-Z][A-Z0-9_]{0,31}$/.test(name) || name === "DLQ" || name.endsWith("_ADVISORIES"))
    throw new Error(`stream name ${name} must be upper-case letters, digits and _, and not DLQ nor end in _ADVISORIES`);
  // dlq and svc are the platform's own subjects: dead letters, and its services' endpoints (kit/nats/namespace.ts).
  if (!/^[a-z][a-z0-9_]{0,31}$/.test(domain) || domain === "dlq" || domain === "svc")
    throw new Error(`stream ${name}: domain ${domain} must be one lower-case subject token, not dlq nor svc`);
  return { name, domain, events: [] };
}

/** Declares an event on its stream: subject `<domain>.<event>`. */
export function defineEvent<D extends DescMessage>(stream: EventStream, schema: D, event: string): EventType<D> {
  if (!/^[a-z][a-z0-9_]{0,63}$/.test(event))
    throw new Error(`event ${event} of ${stream.name} must be one lower-case subject token`);
  const type: EventType<D> = { schema, subject: `${stream.domain}.${event}`, type: schema.typeName, stream };
  const taken = stream.events.find((e) => e.subject === type.subject || e.type === type.type);
  if (taken) throw new Error(`${stream.name} already has ${taken.type} on ${taken.subject}`);
  (stream.events as EventType[]).push(type as EventType);
  return type;
}

/** Every event of these streams by its CloudEvents type, for tools that decode what they find (the DLQ CLI). */
export function eventCatalogue(streams: readonly EventStream[]): ReadonlyMap<string, EventType> {
  return new Map(streams.flatMap((s) => s.events.map((e) => [e.type, e] as const)));
}
