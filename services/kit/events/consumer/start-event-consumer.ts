import { CE } from "../cloud-event-headers";
import { eventConsumerDurable } from "../topology/durable-consumers";
import { ensureConsumer } from "../topology/ensure-consumer";
import { consumerContext, type ConsumerDeps } from "./consumer-context";
import { runConsumerLoop, type ConsumerLoop } from "./consumer-loop";
import { decodeMessage } from "./decode-message";
import type { Delivery } from "./delivery";
import type { EventConsumer } from "./event-consumer";
import { BATCHES_IN_FLIGHT, batchingHandler } from "./handle-batch";
import { handleEvent } from "./handle-event";
import { processSpan } from "../event-spans";
import { tracing } from "../../tracing";

/**
 * Runs an event consumer, CONSUMER_CONCURRENCY messages at a time (one entity's, by ce-subject, in
 * order): explicit ack after the handler's transaction committed (with the inbox row in
 * it); a retryable failure is nak'ed with the CONSUMER_BACKOFF_MS delay for that delivery, and on the
 * last allowed delivery without one, so the server dead-letters it at once; poison (no event headers,
 * undecodable, invalid, a non-retryable error) is terminated. Every failure's reason is recorded for
 * the dead letter. A consumer defined with `batch` handles events of different entities together, in one
 * transaction per batch (see defineConsumer).
 */
export async function startEventConsumer(def: EventConsumer, deps: ConsumerDeps): Promise<ConsumerLoop> {
  const stream = deps.names.stream(def.stream);
  const log = deps.log.child({ consumer: def.name });
  const durable = eventConsumerDurable(deps.names, deps.cfg, { stream: def.stream, consumer: def.name });
  // Deliveries and ack wait as the server holds them: under identities the operator set them.
  const { config: held } = await ensureConsumer(deps.jsm, stream, durable, log);
  const ctx = consumerContext(def, { ...deps, stream, log, held });
  const batchSize = def.batch ?? 1;
  const handleDelivery = batchSize > 1 ? batchingHandler(ctx) : (d: Delivery) => handleEvent(ctx, d);

  return runConsumerLoop({
    js: deps.js,
    jsm: deps.jsm,
    stream,
    config: durable,
    log,
    handle: async (m) => {
      const d = await decodeMessage(ctx, m);
      if (!d) return;
      if (!tracing.on) return handleDelivery(d);
      await processSpan(m, def.name, d.meta, (span) => handleDelivery(Object.assign(d, { span })));
    },
    // A batching consumer holds enough for its batches in flight and the next one filling.
    concurrency: Math.max(deps.cfg.CONSUMER_CONCURRENCY, batchSize * (BATCHES_IN_FLIGHT + 1)),
    // One entity's events (ce-subject) are handled in stream order; different entities' side by side.
    keyOf: (m) => m.headers?.get(CE.subject) || undefined,
    ackWaitMs: ctx.ackWaitMs,
  });
}
