import type { JetStreamClient, JetStreamManager, StoredMsg } from "@nats-io/jetstream";
import { headers as natsHeaders, type MsgHdrs } from "@nats-io/transport-node";
import { fromPublic, type KeyPair } from "@nats-io/nkeys";
import type { Identity } from "../../trust/identity";
import { CE, REPLAY_FOR, REPLAY_OF, REPLAY_PROOF } from "../cloud-event-headers";
import type { EventNames } from "../topology/streams";

/**
 * A dead letter is a message of the DLQ stream: the original body, the original headers (the
 * CloudEvents ones among them) and these, which say where it died and why.
 */
export const DLQ = {
  stream: "dlq-stream",
  consumer: "dlq-consumer",
  streamSeq: "dlq-stream-seq",
  subject: "dlq-subject",
  deliveries: "dlq-deliveries",
  kind: "dlq-kind",
  reason: "dlq-reason",
  failedAt: "dlq-failed-at",
  /** Set when the original had left its stream (max age) before the dead letter was written. */
  originalMissing: "dlq-original-missing",
} as const;

export type DeadLetterKind = "max_deliveries" | "terminated";

export interface DeadLetter {
  /** The DLQ stream sequence: what `dlq show|replay <id>` take. */
  id: number;
  stream: string;
  consumer: string;
  streamSeq: number;
  subject: string;
  deliveries: number;
  kind: DeadLetterKind;
  reason: string;
  failedAt: Date;
  eventId: string;
  eventType: string;
  /** The original message's headers (without the dlq-* ones). */
  headers: Record<string, string>;
  data: Uint8Array;
}

/**
 * The dead letters of one platform (EVENTS_PREFIX): list, read, replay to the consumer they died in,
 * resolve and purge. A replayed copy goes to the original subject with `dlq-replay-for` (only that
 * consumer handles it) and `dlq-replay-of` (the entry it resolves once handled); if it dies again,
 * its new dead letter replaces this one.
 */
export class DeadLetters {
  readonly #operator?: KeyPair;

  /**
   * `trust.operatorKey`: whose replays to believe (the operator's public key); unset on an open
   * platform, where every replay is. `trust.signer`: the identity that signs the replays made here.
   */
  constructor(
    private readonly jsm: JetStreamManager,
    private readonly js: JetStreamClient,
    private readonly names: EventNames,
    private readonly trust: { operatorKey?: string; signer?: Identity } = {},
  ) {
    if (trust.operatorKey) this.#operator = fromPublic(trust.operatorKey);
  }

  private get stream() {
    return this.names.stream("DLQ");
  }

  /** Every dead letter, oldest first. */
  async list(): Promise<DeadLetter[]> {
    const out: DeadLetter[] = [];
    const filter = this.names.subject("dlq.>");
    for (let seq = 1; ;) {
      // next_by_subj: the first message at or after seq, so deleted (resolved) entries cost nothing.
      const m = await this.jsm.streams.getMessage(this.stream, { seq, next_by_subj: filter } as { seq: number });
      if (!m) return out;
      out.push(toDeadLetter(m));
      seq = m.seq + 1;
    }
  }

  async get(id: number): Promise<DeadLetter | undefined> {
    // Past the end of the stream the server answers "stream store EOF" rather than "not found".
    const m = await this.jsm.streams.getMessage(this.stream, { seq: id }).catch((e) => {
      if (/EOF|not found/i.test(String(e))) return null;
      throw e;
    });
    return m && m.subject.startsWith(this.names.subject("dlq.")) ? toDeadLetter(m) : undefined;
  }

  /** Puts the original message back for its consumer; the entry stays until the consumer handled it. */
  async replay(id: number): Promise<DeadLetter> {
    const letter = await this.get(id);
    if (!letter) throw new Error(`no dead letter ${id}`);
    const h = natsHeaders();
    for (const [k, v] of Object.entries(letter.headers)) h.set(k, v);
    h.set(REPLAY_FOR, letter.consumer);
    h.set(REPLAY_OF, String(id));
    if (this.trust.signer)
      h.set(
        REPLAY_PROOF,
        Buffer.from(this.trust.signer.keyPair.sign(replayClaim(id, letter.consumer, letter.eventId))).toString(
          "base64url",
        ),
      );
    // No Nats-Msg-Id: the event id is within the stream's duplicate window only if it died young, and
    // the copy must not be dropped as a duplicate of the original.
    await this.js.publish(letter.subject, letter.data, { headers: h });
    return letter;
  }

  /** Removes an entry: its message was handled. False when it was gone already. */
  async resolve(id: number): Promise<boolean> {
    return this.jsm.streams.deleteMessage(this.stream, id, false).catch((e) => {
      if (/not found|EOF/i.test(String(e))) return false;
      throw e;
    });
  }

  /**
   * Removes the entry a replayed copy names (`dlq-replay-of`) once that copy was handled or died again,
   * when the operator signed that replay of this letter to this consumer with this event: a producer
   * can set any header on its own events, and must not erase the dead letters of others with one.
   * False when the copy's proof does not hold (or the entry was gone).
   */
  async resolveReplayed(copy: MsgHdrs | undefined, consumer: string): Promise<boolean> {
    const id = Number(copy?.get(REPLAY_OF));
    if (!id) return false;
    if (this.#operator) {
      let ok = false;
      try {
        ok = this.#operator.verify(
          replayClaim(id, consumer, copy?.get(CE.id) ?? ""),
          Buffer.from(copy?.get(REPLAY_PROOF) ?? "", "base64url"),
        );
      } catch {}
      if (!ok) return false;
    }
    return this.resolve(id);
  }

  /** Removes every entry; answers how many there were. */
  async purge(): Promise<number> {
    return (await this.jsm.streams.purge(this.stream, { filter: this.names.subject("dlq.>") })).purged;
  }
}

/** What the operator signs when it replays a dead letter: which letter, to which consumer, which event. */
const replayClaim = (id: number, consumer: string, eventId: string) =>
  new TextEncoder().encode(`dlq-replay\n${id}\n${consumer}\n${eventId}`);

/** The original headers worth carrying along: not NATS's own, not a previous replay's or dead letter's. */
export function originalHeaders(h: MsgHdrs | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!h) return out;
  for (const k of h.keys()) {
    const lower = k.toLowerCase();
    if (lower.startsWith("nats-") || lower.startsWith("dlq-")) continue;
    out[k] = h.get(k);
  }
  return out;
}

function toDeadLetter(m: StoredMsg): DeadLetter {
  const get = (k: string) => m.header?.get(k) ?? "";
  const headers = originalHeaders(m.header);
  return {
    id: m.seq,
    stream: get(DLQ.stream),
    consumer: get(DLQ.consumer),
    streamSeq: Number(get(DLQ.streamSeq)),
    subject: get(DLQ.subject),
    deliveries: Number(get(DLQ.deliveries)),
    kind: get(DLQ.kind) as DeadLetterKind,
    reason: get(DLQ.reason),
    failedAt: new Date(get(DLQ.failedAt) || m.time),
    eventId: headers[CE.id] ?? "",
    eventType: headers[CE.type] ?? "",
    headers,
    data: m.data,
  };
}
