import type { MsgHdrs, NatsConnection } from "@nats-io/transport-node";
import { BusLink } from "../../nats/bus-link";

interface SentReply {
  at: number;
  subject: string;
  body: Uint8Array;
  headers?: MsgHdrs;
}

/**
 * The replies an instance sent over NATS lately, sent once more after its connection came back. A
 * reply written just before the server it was connected to died (kill -9 of a cluster node) is gone
 * with it, and NATS does not resend it: its caller would wait for its whole deadline (the gateway's
 * 15 s) though the work was done. Sent again on the new connection, it reaches a caller still waiting;
 * one that had its answer already drops the copy (nats-unary-call.ts keeps nothing for a finished call).
 *
 * @example
 *   const recent = new RecentReplies(nc);
 *   nc.publish(replyTo, body, { headers });
 *   recent.sent(replyTo, body, headers);
 */
export class RecentReplies {
  #sent: SentReply[] = [];
  #unsure: SentReply[] = [];
  readonly #nc: NatsConnection;
  readonly #keepMs: number;
  readonly #max: number;
  readonly #now: () => number;

  constructor(
    nc: NatsConnection,
    {
      /** How long before a disconnect a reply may still have been lost with the server. */
      keepMs = 2000,
      /** At most this many kept (the newest), whatever the rate. */
      max = 10_000,
      now = Date.now,
    }: { keepMs?: number; max?: number; now?: () => number } = {},
  ) {
    this.#nc = nc;
    this.#keepMs = keepMs;
    this.#max = max;
    this.#now = now;
    const link = new BusLink(nc, () => {
      // What went out lately may not have got anywhere; what is published from now on waits in the
      // client's buffer and goes out after the reconnect by itself.
      this.#trim();
      this.#unsure.push(...this.#sent);
      this.#sent = [];
    });
    link.onReconnect(() => this.#resend());
  }

  /** A reply went out on the connection. */
  sent(subject: string, body: Uint8Array, headers?: MsgHdrs): void {
    const at = this.#now();
    this.#sent.push({ at, subject, body, headers });
    // Trimmed now and then, not on every reply: when the oldest is twice too old, or too many are kept.
    if (this.#sent[0]!.at < at - 2 * this.#keepMs || this.#sent.length > this.#max * 2) this.#trim();
  }

  /** Replies kept now (for tests and metrics). */
  get kept(): number {
    return this.#sent.length;
  }

  #trim(): void {
    const oldest = this.#now() - this.#keepMs;
    let i = 0;
    while (i < this.#sent.length && this.#sent[i]!.at < oldest) i++;
    this.#sent = this.#sent.slice(Math.max(i, this.#sent.length - this.#max));
  }

  #resend(): void {
    const unsure = this.#unsure;
    this.#unsure = [];
    for (const r of unsure) {
      try {
        this.#nc.publish(r.subject, r.body, r.headers ? { headers: r.headers } : undefined);
      } catch {
        // Down again: the caller sees its own timeout, as without this.
      }
    }
  }
}
