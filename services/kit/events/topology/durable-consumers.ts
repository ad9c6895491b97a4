import { AckPolicy, DeliverPolicy } from "@nats-io/jetstream";
import type { DurableConfig } from "./ensure-consumer";
import type { EventsConfig } from "../events-config";
import type { EventStream } from "./contract";
import type { EventNames } from "./streams";

/** An event consumer as the bus knows it: its durable name and the domain stream it reads. */
export interface ConsumerPlace {
  stream: EventStream;
  consumer: string;
}

/** The advisories a consumer's dead-letter writer follows, one durable each. */
export const DEAD_LETTER_KINDS = ["MAX_DELIVERIES", "MSG_TERMINATED"] as const;

const writerName = (consumer: string, kind: (typeof DEAD_LETTER_KINDS)[number]) =>
  `${consumer}-dead-letters-${kind === "MAX_DELIVERIES" ? "max-deliveries" : "terminated"}`;

/**
 * The durable consumer an event consumer reads through: explicit acks, every event of its domain. One
 * definition for the service that runs it and the operator who provisions it (`bun run cli streams`).
 */
export function eventConsumerDurable(
  names: EventNames,
  cfg: EventsConfig,
  { stream, consumer }: ConsumerPlace,
): DurableConfig {
  const filter = names.subject(`${stream.domain}.>`);
  return {
    durable_name: consumer,
    description: `${consumer}: ${filter}`,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: cfg.CONSUMER_ACK_WAIT_MS * 1_000_000,
    max_deliver: cfg.CONSUMER_MAX_DELIVER,
    // Not the server's `backoff`: it would replace ack_wait as each delivery's deadline, so a short
    // first backoff would redeliver a slow handler's message while it still works. The schedule is
    // applied by nak(delay) instead.
    filter_subject: filter,
    max_ack_pending: 1000,
  };
}

/**
 * The durables on the advisory stream that turn one consumer's dead messages into dead letters, one
 * per advisory kind: a filter must lie within one of the stream's subjects (servers before 2.10 take a
 * single filter).
 */
export function deadLetterWriterDurables(names: EventNames, { stream, consumer }: ConsumerPlace): DurableConfig[] {
  return DEAD_LETTER_KINDS.map((kind) => ({
    durable_name: writerName(consumer, kind),
    description: `writes the dead letters (${kind}) of consumer ${consumer} on ${names.stream(stream)}`,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: 30_000_000_000,
    filter_subject: `$JS.EVENT.ADVISORY.CONSUMER.${kind}.${names.stream(stream)}.${consumer}`,
  }));
}

/** Every durable an event consumer needs, by stream: its own and its dead-letter writers'. */
export function durablesOf(
  names: EventNames,
  cfg: EventsConfig,
  place: ConsumerPlace,
): { stream: string; config: DurableConfig }[] {
  return [
    { stream: names.stream(place.stream), config: eventConsumerDurable(names, cfg, place) },
    ...deadLetterWriterDurables(names, place).map((config) => ({ stream: names.advisories(place.stream), config })),
  ];
}
