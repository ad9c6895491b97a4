import { fromBinary } from "@bufbuild/protobuf";
import type { JsMsg } from "@nats-io/jetstream";
import { readEventMeta } from "../cloud-event-headers";
import type { ConsumerContext } from "./consumer-context";
import type { Delivery } from "./delivery";
import { describeError } from "./handler-failure";
import { payloadHash } from "./inbox";
import { replayForAnother } from "./replay";
import { pass, terminate } from "./settle";

/**
 * Reads a message into a Delivery for its handler (CloudEvent headers, the protobuf payload, the
 * handler's validate), or settles it here: another consumer's replay and an event of the stream this
 * consumer has no handler for are acked; no event headers, an undecodable or invalid payload are poison
 * (terminated); an event no one declared for the stream, or on another subject than its type's, is
 * dead-lettered or skipped as CONSUMER_UNKNOWN_EVENTS says.
 */
export async function decodeMessage(ctx: ConsumerContext, m: JsMsg): Promise<Delivery | undefined> {
  const { def, names } = ctx;
  const meta = readEventMeta(m.headers);
  if ("problem" in meta) return void (await terminate(ctx, m, "", `not an event: ${meta.problem}`));
  if (replayForAnother(ctx, m)) return void pass(ctx, m, meta.type, "skipped");
  const handler = ctx.byType.get(meta.type);
  const declared = handler?.type ?? def.stream.events.find((e) => e.type === meta.type);
  if (!declared || declared.stream !== def.stream)
    return void (await unknown(ctx, m, meta.type, `unknown event type ${meta.type} on ${m.subject}`));
  if (names.subject(declared.subject) !== m.subject)
    return void (await unknown(
      ctx,
      m,
      meta.type,
      `${meta.type} arrived on ${m.subject}, but its subject is ${names.subject(declared.subject)}`,
    ));
  // An event of this stream this consumer does not care about.
  if (!handler) return void pass(ctx, m, meta.type, "skipped");
  let event: unknown;
  try {
    event = fromBinary(handler.type.schema, m.data);
  } catch (e) {
    return void (await terminate(ctx, m, meta.type, `undecodable ${meta.type}: ${describeError(e)}`));
  }
  const invalid = handler.validate?.(event);
  if (invalid) return void (await terminate(ctx, m, meta.type, `invalid ${meta.type}: ${invalid}`));
  const log = ctx.log.child({
    event_id: meta.id,
    event_type: meta.type,
    traceparent: meta.traceparent,
    deliveries: m.info.deliveryCount,
  });
  const row = {
    consumer: def.name,
    eventId: meta.id,
    eventType: meta.type,
    payloadHash: payloadHash(meta.type, m.data),
  };
  return { m, meta, handler, event, row, log };
}

/** An event no one declared for this stream, or on another subject than its type's: dead-lettered, or skipped when so configured. */
async function unknown(ctx: ConsumerContext, m: JsMsg, type: string, why: string): Promise<void> {
  if (ctx.cfg.CONSUMER_UNKNOWN_EVENTS === "dead-letter") return terminate(ctx, m, type, why);
  ctx.log.warn(
    { stream_seq: m.info.streamSequence, event_type: type, subject: m.subject, why },
    "unknown event skipped",
  );
  pass(ctx, m, type, "unknown");
}
