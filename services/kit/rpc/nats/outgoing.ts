import type { MsgHdrs, NatsConnection } from "@nats-io/transport-node";

/**
 * Messages published together at the end of the event loop's turn. nats.js writes its buffer to the
 * socket in a microtask after the first publish, and the calls that answer in one turn publish from
 * many promise chains, each after that microtask ran: a socket write per message. Held until the turn's
 * microtasks are done (setImmediate), the turn's messages leave in one write.
 */
export class Outgoing {
  readonly #nc: NatsConnection;
  #queue: { subject: string; data: Uint8Array; reply?: string; headers?: MsgHdrs; failed?: (e: unknown) => void }[] =
    [];
  #scheduled = false;

  constructor(nc: NatsConnection) {
    this.#nc = nc;
  }

  publish(
    subject: string,
    data: Uint8Array,
    opts: { reply?: string; headers?: MsgHdrs },
    failed?: (e: unknown) => void,
  ): void {
    this.#queue.push({ subject, data, reply: opts.reply, headers: opts.headers, failed });
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.#flush());
    }
  }

  #flush(): void {
    const queue = this.#queue;
    this.#queue = [];
    this.#scheduled = false;
    for (const m of queue) {
      try {
        this.#nc.publish(m.subject, m.data, { reply: m.reply, headers: m.headers });
      } catch (e) {
        m.failed?.(e);
      }
    }
  }
}
