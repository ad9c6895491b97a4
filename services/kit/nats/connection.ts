import { connect, credsAuthenticator, nkeyAuthenticator, type NatsConnection } from "@nats-io/transport-node";
import { maskCredentials } from "../config";
import type { Logger } from "../log";

/**
 * Connects to NATS, failing within `timeoutMs` with an error that names NATS_URL. Once connected it
 * reconnects forever; disconnects and reconnects are logged. A server that takes anyone is named once,
 * at start: the bus is open.
 */
export async function connectNats(opts: {
  url: string;
  name: string;
  log: Logger;
  timeoutMs?: number;
  /** The nkey seed of this service's identity: the server knows it by its public key. */
  seed?: Uint8Array;
  /** Or a credentials file's content (a server with decentralized JWT auth). */
  creds?: Uint8Array;
  /** The CA that signed the servers' certificates: the connection is TLS, verified against it. */
  caFile?: string;
  /** Replies come here (only this identity may read them). */
  inboxPrefix?: string;
}): Promise<NatsConnection> {
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: opts.url.split(",").map((s) => s.trim()),
      name: opts.name,
      timeout: opts.timeoutMs ?? 5000,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      ...(opts.creds
        ? { authenticator: credsAuthenticator(opts.creds) }
        : opts.seed
          ? { authenticator: nkeyAuthenticator(opts.seed) }
          : {}),
      ...(opts.caFile ? { tls: { caFile: opts.caFile } } : {}),
      ...(opts.inboxPrefix ? { inboxPrefix: opts.inboxPrefix } : {}),
    });
  } catch (e) {
    throw new Error(
      `cannot reach NATS at NATS_URL=${maskCredentials(opts.url)} (${e instanceof Error ? e.message : e}); start one with \`nats-server -js\``,
    );
  }
  if (!nc.info?.auth_required)
    opts.log.warn(
      { nats: maskCredentials(opts.url) },
      "NATS takes anyone: any client may publish events, register as a service and change policies (give it the identities of bun run cli identities)",
    );
  (async () => {
    for await (const s of nc.status()) {
      if (s.type === "disconnect" || s.type === "reconnect")
        opts.log.warn({ nats: s.type, server: s.server }, `nats ${s.type}`);
      else if (s.type === "error") opts.log.error({ nats: s.type, err: s.error }, "nats error");
    }
  })().catch(() => {});
  return nc;
}
