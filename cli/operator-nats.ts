import { connect, type NatsConnection } from "@nats-io/transport-node";
import { url } from "../services/kit/config";

/** NATS_URL as every operator command reads it. */
export const natsUrlSetting = () => url("nats://127.0.0.1:4222", ["nats", "tls", "ws", "wss"]);

/**
 * One connection for an operator command, without reconnecting: the command either reaches NATS now or
 * fails with one line naming NATS_URL (`fail` makes the command's own error from it).
 */
export async function connectOperatorNats(natsUrl: string, name: string, fail: (message: string) => Error, hint = ""): Promise<NatsConnection> {
  try {
    return await connect({ servers: natsUrl.split(",").map((s) => s.trim()), name, timeout: 3000, reconnect: false });
  } catch (e) {
    throw fail(`cannot reach NATS at NATS_URL=${natsUrl} (${e instanceof Error ? e.message : e})${hint}`);
  }
}
