import { Counter, Histogram, type Registry } from "prom-client";

/** The event machinery's counters, registered once per service in its /metrics registry. */
export function eventsMetrics(registry?: Registry) {
  const registers = registry ? [registry] : [];
  return {
    published: new Counter({
      name: "outbox_published_total",
      help: "Outbox rows published to JetStream, by event type (duplicate: the stream had it already)",
      labelNames: ["type", "duplicate"],
      registers,
    }),
    consumed: new Counter({
      name: "events_consumed_total",
      help: "Deliveries by consumer, event type and outcome (handled, duplicate, skipped, retry, poison)",
      labelNames: ["consumer", "type", "outcome"],
      registers,
    }),
    batchEvents: new Histogram({
      name: "events_consumer_batch_events",
      help: "Events per transaction of a batching consumer (defineConsumer batch): near 1, it is not busy enough to batch",
      labelNames: ["consumer"],
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
      registers,
    }),
  };
}

export type EventsMetrics = ReturnType<typeof eventsMetrics>;
