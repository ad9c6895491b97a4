import {
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
  type PubAck,
  type StoredMsg,
} from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import pino from "pino";
import type { DescMessage, MessageInitShape } from "@bufbuild/protobuf";
import type { EventStream, EventType } from "../events/topology/contract";
import { publishEvent } from "../events/outbox/publish-event";
import { DeadLetters } from "../events/dead-letters/dead-letter-queue";
import { eventsConfig } from "../events/events-config";
import { deleteStreams, EventNames, ensureStreams } from "../events/topology/streams";

export interface TestEventStreams {
  /** EVENTS_PREFIX for this test file's service processes: streams and subjects of its own. */
  readonly prefix: string;
  readonly env: { EVENTS_PREFIX: string; NATS_URL: string };
  readonly names: EventNames;
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly deadLetters: DeadLetters;
  /** Creates these streams as a service would (for tests that publish before any service started). */
  ensure(streams: readonly EventStream[], env?: Record<string, string>): Promise<void>;
  /**
   * Publishes one event straight to the test's streams (publishEvent), from `/test` unless `opts` says
   * which source.
   */
  publish<D extends DescMessage>(
    type: EventType<D>,
    message: MessageInitShape<D>,
    opts?: Partial<Parameters<typeof publishEvent>[4]>,
  ): Promise<PubAck & { id: string }>;
  /** Every message stored on `subject` (unprefixed, wildcards allowed) in the stream, oldest first. */
  stored(stream: Parameters<EventNames["stream"]>[0], subject: string): Promise<StoredMsg[]>;
  /** Whether a durable consumer of the stream has nothing left: nothing pending, nothing unacknowledged. */
  drained(stream: Parameters<EventNames["stream"]>[0], consumer: string): Promise<boolean>;
  /** Deletes every stream (and the error bucket) under the prefix, and closes the connection. */
  drop(): Promise<void>;
}

/**
 * Streams of their own for one test file (prefix t<random>), so files run in parallel and repeat and
 * never touch the shared ORDERS, PAYMENTS, … streams; `drop()` in afterAll removes them.
 */
export async function testEventStreams(
  natsUrl = process.env.NATS_URL ?? "nats://127.0.0.1:4222",
  /** A platform's namespace, for a test of what the namespace alone keeps apart (EVENTS_PREFIX follows it). */
  prefix = `t${crypto.randomUUID().replaceAll("-", "").slice(0, 10)}`,
): Promise<TestEventStreams> {
  const names = new EventNames(prefix);
  const nc = await connect({ servers: natsUrl.split(",") });
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  return {
    prefix,
    env: { EVENTS_PREFIX: prefix, NATS_URL: natsUrl },
    names,
    nc,
    js,
    jsm,
    deadLetters: new DeadLetters(jsm, js, names),
    async ensure(streams, env = {}) {
      await ensureStreams(
        jsm,
        names,
        eventsConfig({ EVENTS_PREFIX: prefix, ...env }),
        pino({ level: "silent" }),
        streams,
      );
    },
    publish: (type, message, opts) => publishEvent(js, names, type, message, { source: "/test", ...opts }),
    async stored(stream, subject) {
      const out: StoredMsg[] = [];
      const filter = names.subject(subject);
      for (let seq = 1; ;) {
        const m = await jsm.streams.getMessage(names.stream(stream), { seq, next_by_subj: filter } as { seq: number });
        if (!m) return out;
        out.push(m);
        seq = m.seq + 1;
      }
    },
    async drained(stream, consumer) {
      const info = await jsm.consumers.info(names.stream(stream), consumer);
      return info.num_pending === 0 && info.num_ack_pending === 0;
    },
    async drop() {
      await deleteStreams(jsm, names);
      await nc.close();
    },
  };
}
