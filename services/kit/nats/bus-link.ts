import type { NatsConnection } from "@nats-io/transport-node";

/**
 * Whether this process's NATS connection is up, as its status events say: what a component needs to
 * tell "nobody answered" from "the bus did not carry the question". `epoch` counts disconnections, so a
 * request that spanned one can be told apart from one that did not.
 */
export class BusLink {
  #connected: boolean;
  #epoch = 0;
  readonly #onReconnect: (() => void)[] = [];

  /** `onDisconnect` hears of every disconnection (and the close) as it happens. */
  constructor(nc: NatsConnection, onDisconnect?: () => void) {
    this.#connected = !nc.isClosed();
    (async () => {
      for await (const s of nc.status()) {
        if (s.type === "disconnect") {
          this.#connected = false;
          this.#epoch++;
          onDisconnect?.();
        } else if (s.type === "reconnect") {
          this.#connected = true;
          for (const f of this.#onReconnect) f();
        } else if (s.type === "close") {
          this.#connected = false;
          onDisconnect?.();
        }
      }
    })().catch(() => {});
  }

  get connected(): boolean {
    return this.#connected;
  }

  get epoch(): number {
    return this.#epoch;
  }

  onReconnect(f: () => void): void {
    this.#onReconnect.push(f);
  }
}
