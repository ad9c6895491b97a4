import { batches } from "./batches";
import type { ConsumerContext } from "./consumer-context";
import { inProgressEvery } from "./consumer-loop";
import { handlerContext, type Delivery } from "./delivery";
import { handleEvent } from "./handle-event";
import { claimEvents } from "./inbox";
import { settleHandled } from "./settle";
import { batchSpan } from "../event-spans";

/** Transactions of one batching consumer instance at once: one can wait for its commit while another works. */
export const BATCHES_IN_FLIGHT = 2;

/**
 * Events of different entities in one transaction. If a handler fails, that event is tried again
 * alone and the others together; if the transaction fails otherwise (the inbox insert, the commit),
 * each is tried alone. Either way only an event's own failure counts against it.
 */
export async function handleBatch(ctx: ConsumerContext, ds: Delivery[]): Promise<void> {
  if (ds.length === 1) return handleEvent(ctx, ds[0]!);
  let fresh: boolean[];
  let failing: Delivery | undefined;
  // A batch takes as long as its events together: none of them may run out of ack wait meanwhile.
  // Only while the transaction runs: a message acked or nak'ed after it must not be touched again.
  const beat = setInterval(() => ds.forEach((d) => d.m.working()), inProgressEvery(ctx.ackWaitMs));
  try {
    fresh = await batchSpan(
      ctx.def.name,
      ds.map((d) => d.span),
      () =>
        ctx.db.transaction(async (tx) => {
          const claimed = await claimEvents(
            tx,
            ctx.def.name,
            ds.map((d) => d.row),
          );
          const out: boolean[] = [];
          for (const d of ds) {
            // delete: two copies of one event in a batch (published twice) are handled once.
            const first = claimed.delete(d.meta.id);
            if (first) {
              failing = d;
              await d.handler.handle(d.event, handlerContext(d, tx));
              failing = undefined;
            }
            out.push(first);
          }
          return out;
        }),
    ).finally(() => clearInterval(beat));
  } catch (e) {
    ctx.log.debug(
      { err: e, events: ds.length, failing_event_id: failing?.meta.id },
      "batch rolled back; its events are handled again",
    );
    if (failing)
      await Promise.all([
        handleEvent(ctx, failing),
        handleBatch(
          ctx,
          ds.filter((d) => d !== failing),
        ),
      ]);
    else await Promise.all(ds.map((d) => handleEvent(ctx, d)));
    return;
  }
  await Promise.all(ds.map((d, i) => settleHandled(ctx, d, fresh[i]!)));
}

/**
 * Hands a consumer's deliveries on in batches of up to `def.batch` (see batches), BATCHES_IN_FLIGHT of
 * them at once, each counted in the batch size histogram.
 */
export function batchingHandler(ctx: ConsumerContext): (d: Delivery) => Promise<void> {
  const batchEvents = ctx.metrics.batchEvents.labels({ consumer: ctx.def.name });
  return batches(
    (ds: Delivery[]) => {
      batchEvents.observe(ds.length);
      return handleBatch(ctx, ds);
    },
    { max: ctx.def.batch ?? 1, parallel: BATCHES_IN_FLIGHT },
  );
}
