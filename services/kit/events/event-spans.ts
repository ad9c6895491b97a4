import type { JsMsg } from "@nats-io/jetstream";
import { ROOT_CONTEXT, trace } from "@opentelemetry/api";
import {
  activeTraceparent,
  contextFromTraceparent,
  failed,
  inSpan,
  SpanKind,
  startSpan,
  tracing,
  type Span,
} from "../tracing";
import { newTraceparent, REPLAY_OF } from "./cloud-event-headers";

// Spans of events, as OpenTelemetry's messaging conventions name them: "create" when the outbox row is
// written (its context is stored with the row), "send" when the relay publishes it (its context goes in
// the message's traceparent), "process" when a consumer handles it, a child of the send.

const MESSAGING = { "messaging.system": "nats" } as const;

/**
 * The traceparent an event is stored or published with: a "create" span's, child of whatever is active
 * (the saga step, the RPC), so the event continues the trace of the change that made it. With tracing
 * off, a new one, so the event's headers still carry a correlation id.
 */
export function eventTraceparent(subject: string, eventId: string): string {
  if (!tracing.on) return newTraceparent();
  const span = startSpan(`create ${subject}`, {
    kind: SpanKind.PRODUCER,
    attributes: {
      ...MESSAGING,
      "messaging.operation.type": "create",
      "messaging.destination.name": subject,
      "messaging.message.id": eventId,
    },
  });
  // None when the trace is sampled out: the event carries the active (not sampled) context on.
  span?.end();
  return activeTraceparent(span);
}

/** The relay's "send" of a stored event: a child of its create span; ended by the caller once acked. */
export function sendSpan(subject: string, eventId: string, storedTraceparent: string): Span | undefined {
  return startSpan(`send ${subject}`, {
    kind: SpanKind.PRODUCER,
    parent: contextFromTraceparent(storedTraceparent),
    attributes: {
      ...MESSAGING,
      "messaging.operation.type": "send",
      "messaging.destination.name": subject,
      "messaging.message.id": eventId,
    },
  });
}

/** Ends a send span with what the publish came to. */
export function endSend(span: Span | undefined, failure?: unknown): void {
  if (!span) return;
  if (failure !== undefined) failed(span, failure);
  span.end();
}

/**
 * One consumer's handling of one delivery, a child of the message's send span (or of a replayed dead
 * letter's original); each delivery is a span of its own, so retries and the dead letter show on the trace.
 */
export function processSpan<T>(
  m: JsMsg,
  consumer: string,
  meta: { id: string; traceparent: string },
  fn: (span: Span | undefined) => Promise<T>,
): Promise<T> {
  const replayOf = m.headers?.get(REPLAY_OF);
  return inSpan(
    `process ${m.subject}`,
    {
      kind: SpanKind.CONSUMER,
      parent: contextFromTraceparent(meta.traceparent),
      attributes: {
        ...MESSAGING,
        "messaging.operation.type": "process",
        "messaging.destination.name": m.subject,
        "messaging.consumer.group.name": consumer,
        "messaging.message.id": meta.id,
        "shop.deliveries": m.info.deliveryCount,
        ...(replayOf ? { "shop.replay_of": Number(replayOf) } : {}),
      },
    },
    (span) => {
      // A replay is the dead letter's story going on: said on the span as well as in its attributes.
      if (replayOf) span?.addEvent("replay of a dead letter", { "shop.dlq_id": Number(replayOf) });
      return fn(span);
    },
  );
}

/** A batch's transaction: a trace of its own, linked to each member's process span. */
export function batchSpan<T>(consumer: string, members: (Span | undefined)[], fn: () => Promise<T>): Promise<T> {
  if (!tracing.on) return fn();
  const links = members.filter((s): s is Span => !!s).map((s) => ({ context: s.spanContext() }));
  return inSpan(
    `process batch ${consumer}`,
    {
      kind: SpanKind.CONSUMER,
      parent: ROOT_CONTEXT,
      links,
      attributes: {
        ...MESSAGING,
        "messaging.operation.type": "process",
        "messaging.consumer.group.name": consumer,
        "messaging.batch.message_count": members.length,
      },
    },
    fn,
  );
}

/** The dead letter's writing, a child of the dead message's context: the end of its trace until a replay. */
export function deadLetterSpan<T>(subject: string, traceparent: string, fn: (span: Span | undefined) => Promise<T>) {
  return inSpan(
    `dead-letter ${subject}`,
    {
      kind: SpanKind.PRODUCER,
      parent: contextFromTraceparent(traceparent),
      attributes: { ...MESSAGING, "messaging.operation.type": "send", "messaging.destination.name": subject },
    },
    fn,
  );
}

/** The span of the delivery being handled now, when tracing (for a batch's links). */
export const activeSpan = (): Span | undefined => (tracing.on ? trace.getActiveSpan() : undefined);
