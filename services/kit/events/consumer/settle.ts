import type { JsMsg } from "@nats-io/jetstream";
import { LastErrors } from "../dead-letters/last-errors";
import type { ConsumerContext } from "./consumer-context";
import type { Delivery } from "./delivery";
import { backoffDelay, describeError, failureLogFields, isRetryable } from "./handler-failure";
import { handledWithAnotherPayload } from "./inbox";
import { resolveReplay } from "./replay";
import { spanFailed } from "../../tracing";

// Every ack, nak and term of an event consumer is here, each with its count, its log line and what it
// leaves for the dead-letter writer (the last error of a message, read when the server gives it up).

const lastErrorKey = (ctx: ConsumerContext, m: JsMsg) =>
  LastErrors.key(ctx.stream, ctx.def.name, m.info.streamSequence);

/**
 * Acks a message no handler takes: another consumer's replay or an event this consumer does not handle
 * ("skipped"), an unknown event when CONSUMER_UNKNOWN_EVENTS says skip ("unknown").
 */
export function pass(ctx: ConsumerContext, m: JsMsg, type: string, outcome: "skipped" | "unknown"): void {
  m.ack();
  ctx.metrics.consumed.inc({ consumer: ctx.def.name, type, outcome });
}

/** Terminates a message that will never be handled (poison), its reason recorded for the dead letter. */
export async function terminate(ctx: ConsumerContext, m: JsMsg, type: string, reason: string): Promise<void> {
  await ctx.lastErrors.record(lastErrorKey(ctx, m), {
    error: reason,
    kind: "terminated",
    deliveries: m.info.deliveryCount,
    at: new Date().toISOString(),
  });
  ctx.log.error(
    { stream_seq: m.info.streamSequence, deliveries: m.info.deliveryCount, reason },
    "poison message; terminated",
  );
  ctx.metrics.consumed.inc({ consumer: ctx.def.name, type, outcome: "poison" });
  spanFailed("terminated: a dead letter follows", { "shop.reason": reason });
  if (ctx.termTakesReason) m.term(reason);
  else m.term();
}

/**
 * Acks an event once its transaction committed (`fresh`) or the inbox said it was handled before. An
 * event handled before under the same id but with another payload is no redelivery: a forgery or a
 * producer's bug, and a dead letter, never silently acked. A replayed dead letter is resolved.
 */
export async function settleHandled(ctx: ConsumerContext, d: Delivery, fresh: boolean): Promise<void> {
  const { m, meta } = d;
  if (!fresh && (await handledWithAnotherPayload(ctx.db, d.row)))
    return terminate(
      ctx,
      m,
      meta.type,
      `${meta.type} ${meta.id} was handled before with another payload; this one is not a redelivery`,
    );
  m.ack();
  ctx.metrics.consumed.inc({ consumer: ctx.def.name, type: meta.type, outcome: fresh ? "handled" : "duplicate" });
  if (fresh) d.log.info("event handled");
  else d.log.info("event handled before; acked without effect");
  if (m.info.deliveryCount > 1) await ctx.lastErrors.clear(lastErrorKey(ctx, m)).catch(() => {});
  await resolveReplay(ctx, d);
}

/**
 * A handler's failure: nak'ed with the CONSUMER_BACKOFF_MS delay for this delivery, and without one on
 * the last allowed delivery, so the server dead-letters it at once; terminated when the error says it
 * will never succeed (see isRetryable).
 */
export async function settleFailed(ctx: ConsumerContext, d: Delivery, e: unknown): Promise<void> {
  const { m, meta } = d;
  if (!isRetryable(e)) return terminate(ctx, m, meta.type, `${meta.type} ${meta.id}: ${describeError(e)}`);
  const deliveries = m.info.deliveryCount;
  const last = deliveries >= ctx.maxDeliver;
  const delay = last ? 0 : backoffDelay(ctx.cfg.CONSUMER_BACKOFF_MS, deliveries);
  await ctx.lastErrors.record(lastErrorKey(ctx, m), {
    error: `${meta.type} ${meta.id}: ${describeError(e)}`,
    kind: "retry",
    deliveries,
    at: new Date().toISOString(),
  });
  d.log.warn(
    { ...failureLogFields(e), retry_in_ms: last ? undefined : delay, max_deliver: ctx.maxDeliver },
    last ? "handler failed on the last delivery" : "handler failed; retrying later",
  );
  ctx.metrics.consumed.inc({ consumer: ctx.def.name, type: meta.type, outcome: "retry" });
  spanFailed(last ? "failed on the last delivery: a dead letter follows" : "nak: delivered again later", {
    "shop.retry_in_ms": delay,
    "shop.error": describeError(e),
  });
  m.nak(delay);
}
