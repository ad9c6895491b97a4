import type { JetStreamClient, JetStreamManager, JsMsg } from "@nats-io/jetstream";
import { headers as natsHeaders } from "@nats-io/transport-node";
import type { Logger } from "../../log";
import { CE, REPLAY_OF } from "../cloud-event-headers";
import { deadLetterSpan } from "../event-spans";
import { DLQ, DeadLetters, originalHeaders, type DeadLetterKind } from "./dead-letter-queue";
import { runConsumerLoop, type ConsumerLoop } from "../consumer/consumer-loop";
import { ensureConsumer } from "../topology/ensure-consumer";
import { deadLetterWriterDurables, type ConsumerPlace } from "../topology/durable-consumers";
import { LastErrors } from "./last-errors";
import type { EventNames } from "../topology/streams";

/** What the server says in a MAX_DELIVERIES or MSG_TERMINATED advisory. */
interface Advisory {
  type: string;
  stream: string;
  consumer: string;
  stream_seq: number;
  deliveries: number;
  /** Only from servers 2.11 on (term with a reason). */
  reason?: string;
  timestamp?: string;
}

/**
 * Turns the advisories about one event consumer's dead messages into dead letters. Durable consumers
 * of the advisory stream, `<consumer>-dead-letters-*`, shared by the service's replicas: whichever gets
 * the advisory fetches the original by stream sequence, takes the last error the consumer recorded,
 * and writes the entry (once: its Nats-Msg-Id is the stream, consumer and sequence).
 */
export async function startDeadLetterWriter(opts: {
  js: JetStreamClient;
  jsm: JetStreamManager;
  names: EventNames;
  /** The event consumer whose dead messages it writes. */
  of: ConsumerPlace;
  lastErrors: LastErrors;
  deadLetters: DeadLetters;
  log: Logger;
}): Promise<ConsumerLoop> {
  const { js, jsm, names, lastErrors, log } = opts;
  const advisories = names.advisories(opts.of.stream);
  const configs = deadLetterWriterDurables(names, opts.of);
  for (const config of configs) await ensureConsumer(jsm, advisories, config, log);

  const write = async (adv: Advisory) => {
    const kind: DeadLetterKind = adv.type.endsWith(".terminated") ? "terminated" : "max_deliveries";
    const key = LastErrors.key(adv.stream, adv.consumer, adv.stream_seq);
    const original = await jsm.streams.getMessage(adv.stream, { seq: adv.stream_seq });
    const recorded = await lastErrors.read(key);
    const reason =
      recorded?.error ||
      adv.reason ||
      (kind === "max_deliveries"
        ? `no error was recorded: the ${adv.deliveries} deliveries ran out of ack wait (a handler that hung, or a process that died)`
        : "terminated without a recorded reason");
    const h = natsHeaders();
    for (const [k, v] of Object.entries(originalHeaders(original?.header))) h.set(k, v);
    h.set(DLQ.stream, adv.stream);
    h.set(DLQ.consumer, adv.consumer);
    h.set(DLQ.streamSeq, String(adv.stream_seq));
    h.set(DLQ.subject, original?.subject ?? "");
    h.set(DLQ.deliveries, String(adv.deliveries));
    h.set(DLQ.kind, kind);
    h.set(DLQ.reason, reason.replace(/[\r\n]+/g, " "));
    h.set(DLQ.failedAt, adv.timestamp ?? new Date().toISOString());
    if (!original) h.set(DLQ.originalMissing, "true");
    const dlqSubject = names.deadLetterSubject(adv.stream, adv.consumer);
    const ack = await deadLetterSpan(dlqSubject, original?.header?.get(CE.traceparent) ?? "", async (span) => {
      span?.setAttributes({ "messaging.consumer.group.name": adv.consumer, "shop.reason": reason, "shop.kind": kind });
      const ack = await js.publish(dlqSubject, original?.data ?? new Uint8Array(), {
        headers: h,
        msgID: `dlq:${adv.stream}:${adv.consumer}:${adv.stream_seq}`,
      });
      span?.setAttribute("shop.dlq_id", ack.seq);
      return ack;
    });
    // A replayed copy that died again: its new entry replaces the one it replayed.
    const replayed = Number(original?.header?.get(REPLAY_OF));
    if (replayed && replayed !== ack.seq) await opts.deadLetters.resolveReplayed(original?.header, adv.consumer);
    await lastErrors.clear(key);
    log.warn(
      {
        dlq_id: ack.seq,
        stream: adv.stream,
        consumer: adv.consumer,
        stream_seq: adv.stream_seq,
        deliveries: adv.deliveries,
        kind,
        reason,
      },
      "message dead-lettered",
    );
  };

  const handle = async (m: JsMsg) => {
    let adv: Advisory;
    try {
      adv = m.json<Advisory>();
    } catch {
      m.term();
      return;
    }
    try {
      await write(adv);
      m.ack();
    } catch (e) {
      log.warn({ err: e, stream_seq: adv.stream_seq }, "cannot write the dead letter yet; retrying");
      m.nak(1000);
    }
  };
  const loops = configs.map((config) => runConsumerLoop({ js, jsm, stream: advisories, config, log, handle }));
  return { stop: async (graceMs) => void (await Promise.all(loops.map((l) => l.stop(graceMs)))) };
}
