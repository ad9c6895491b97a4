import { headers as natsHeaders, type MsgHdrs } from "@nats-io/transport-node";

/**
 * Every event carries CloudEvents attributes as NATS headers (binary content mode: the body is the
 * protobuf message itself):
 *
 * | header           | example                                   | meaning                                   |
 * |------------------|-------------------------------------------|-------------------------------------------|
 * | `ce-specversion` | `1.0`                                     | CloudEvents version                       |
 * | `ce-id`          | `0b9f…` (a UUID)                          | the event id; also `Nats-Msg-Id`, inbox key |
 * | `ce-type`        | `shop.order.v1.OrderConfirmed`            | the protobuf message's full name          |
 * | `ce-source`      | `/shop/order`                             | the producing service                     |
 * | `ce-time`        | `2025-01-01T12:00:00.000Z`                | when the state change happened            |
 * | `ce-subject`     | the order id                              | what the event is about (optional)        |
 * | `traceparent`    | `00-<trace id>-<span id>-01`              | W3C trace context of the change           |
 * | `content-type`   | `application/protobuf`                    | how the body is encoded                   |
 */
export const CE = {
  specversion: "ce-specversion",
  id: "ce-id",
  type: "ce-type",
  source: "ce-source",
  time: "ce-time",
  subject: "ce-subject",
  traceparent: "traceparent",
  contentType: "content-type",
} as const;

/** Set by `dlq replay`: only this consumer handles the replayed copy; the others let it pass. */
export const REPLAY_FOR = "dlq-replay-for";
/** Set by `dlq replay`: the dead letter that this copy replays, resolved once it is handled. */
export const REPLAY_OF = "dlq-replay-of";
/** Set by `dlq replay` on a platform with identities: the operator's signature over the letter, consumer and event id. */
export const REPLAY_PROOF = "dlq-replay-proof";

export interface EventMeta {
  id: string;
  type: string;
  source: string;
  time: Date;
  subject: string;
  traceparent: string;
}

/** A new W3C traceparent (version 00, sampled) for a change that has no trace of its own. */
export function newTraceparent(): string {
  const hex = (bytes: number) => Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("hex");
  return `00-${hex(16)}-${hex(8)}-01`;
}

const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;
const EVENT_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const EVENT_TYPE = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$/;
const SOURCE = /^\/[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;

export function eventHeaders(meta: EventMeta): MsgHdrs {
  const h = natsHeaders();
  h.set(CE.specversion, "1.0");
  h.set(CE.id, meta.id);
  h.set(CE.type, meta.type);
  h.set(CE.source, meta.source);
  h.set(CE.time, meta.time.toISOString());
  if (meta.subject) h.set(CE.subject, meta.subject);
  h.set(CE.traceparent, meta.traceparent);
  h.set(CE.contentType, "application/protobuf");
  return h;
}

/** The event's attributes, or what is wrong with them (a message without them is poison). */
export function readEventMeta(h: MsgHdrs | undefined): EventMeta | { problem: string } {
  const get = (k: string) => h?.get(k) ?? "";
  const id = get(CE.id);
  const type = get(CE.type);
  const source = get(CE.source);
  if (!id) return { problem: `header ${CE.id} is missing` };
  // An id ends up in keys, message ids and logs: a plain token, never a path or a header of its own.
  if (!EVENT_ID.test(id))
    return {
      problem: `header ${CE.id} must be 1-128 letters, digits, '-', '_', '.' or ':' (got ${JSON.stringify(id.slice(0, 80))})`,
    };
  if (!type) return { problem: `header ${CE.type} is missing` };
  if (!EVENT_TYPE.test(type))
    return { problem: `header ${CE.type} is not a message name: ${JSON.stringify(type.slice(0, 80))}` };
  if (!SOURCE.test(source))
    return {
      problem: `header ${CE.source} must be a path like /shop/order (got ${JSON.stringify(source.slice(0, 80))})`,
    };
  const time = new Date(get(CE.time));
  if (Number.isNaN(time.getTime())) return { problem: `header ${CE.time} is not a time: "${get(CE.time)}"` };
  const traceparent = get(CE.traceparent);
  return {
    id,
    type,
    source,
    time,
    subject: get(CE.subject),
    traceparent: TRACEPARENT.test(traceparent) ? traceparent : "",
  };
}
