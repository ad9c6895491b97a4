import type { JetStreamManager } from "@nats-io/jetstream";
import { EventNames, type EventStream } from "../../kit/events";

export interface ConsumerView {
  name: string;
  /** Messages not yet delivered to it. */
  pending: number;
  /** Delivered and not yet acknowledged. */
  ackPending: number;
  /** Messages delivered more than once. */
  redelivered: number;
  delivered: number;
  waiting: number;
}

export interface StreamView {
  name: string;
  subjects: string[];
  messages: number;
  bytes: number;
  firstSeq: number;
  lastSeq: number;
  lastAt?: string;
  consumers: ConsumerView[];
  /** Why it could not be read (not there yet, not allowed). */
  problem?: string;
}

/**
 * The platform's streams (events, their dead-letter advisories, the DLQ) and every consumer on them,
 * from the JetStream manager API, stream by stream: the console asks for nothing outside the platform.
 */
export async function eventStreams(
  jsm: JetStreamManager,
  names: EventNames,
  streams: readonly EventStream[],
): Promise<StreamView[]> {
  const wanted = [...streams.flatMap((s) => [names.stream(s), names.advisories(s)]), names.stream("DLQ")];
  return Promise.all(
    wanted.map(async (name): Promise<StreamView> => {
      try {
        const info = await jsm.streams.info(name);
        const consumers: ConsumerView[] = [];
        for await (const c of jsm.consumers.list(name))
          consumers.push({
            name: c.name,
            pending: c.num_pending,
            ackPending: c.num_ack_pending,
            redelivered: c.num_redelivered,
            delivered: c.delivered.consumer_seq,
            waiting: c.num_waiting,
          });
        return {
          name,
          subjects: info.config.subjects ?? [],
          messages: info.state.messages,
          bytes: info.state.bytes,
          firstSeq: info.state.first_seq,
          lastSeq: info.state.last_seq,
          lastAt: info.state.last_ts,
          consumers: consumers.sort((a, b) => a.name.localeCompare(b.name)),
        };
      } catch (e) {
        return {
          name,
          subjects: [],
          messages: 0,
          bytes: 0,
          firstSeq: 0,
          lastSeq: 0,
          consumers: [],
          problem: e instanceof Error ? e.message : String(e),
        };
      }
    }),
  );
}
