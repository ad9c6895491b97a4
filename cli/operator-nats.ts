import { fromSeed } from "@nats-io/nkeys";
import { connect, nkeyAuthenticator, type NatsConnection } from "@nats-io/transport-node";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { maskCredentials, url } from "../services/kit";
import { readTrust, type Identity } from "../services/kit/trust";
import { OPERATOR } from "../services/platform/communication";

/** NATS_URL as every operator command reads it. */
export const natsUrlSetting = () => url("nats://127.0.0.1:4222", ["nats", "tls", "ws", "wss"]);

/** Where `bun run cli identities` keeps a platform's keys by default (DATA_DIR/identities). */
export const identitiesDir = (env = process.env) => env.IDENTITIES_DIR || join(env.DATA_DIR || ".data", "identities");

/**
 * The operator's nkey seed: NATS_NKEY_SEED or the file NATS_NKEY_SEED_FILE when set, else the operator's
 * entry in the identities `bun run cli identities` made (what `bun run dev` uses); none on an open bus.
 */
export function operatorSeed(env = process.env): string | undefined {
  if (env.NATS_NKEY_SEED) return env.NATS_NKEY_SEED;
  if (env.NATS_NKEY_SEED_FILE) return readFileSync(env.NATS_NKEY_SEED_FILE, "utf8").trim();
  const file = join(identitiesDir(env), "seeds.json");
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Record<string, string>).operator : undefined;
}

/**
 * The platform's public keys, for checking what services present (registrations): PLATFORM_PUBLIC_KEYS,
 * else the public-keys.env that `bun run cli identities` wrote beside the seeds; none on an open platform.
 */
export function operatorRoster(env = process.env): ReadonlyMap<string, string> {
  let keys = env.PLATFORM_PUBLIC_KEYS;
  const file = join(identitiesDir(env), "public-keys.env");
  if (!keys && existsSync(file))
    keys = readFileSync(file, "utf8")
      .trim()
      .replace(/^PLATFORM_PUBLIC_KEYS=/, "");
  return keys ? readTrust(OPERATOR, { PLATFORM_PUBLIC_KEYS: keys }).roster : new Map();
}

/** The operator as an identity that signs tokens for the services' ports; none on an open platform. */
export function operatorIdentity(env = process.env): Identity | undefined {
  const seed = operatorSeed(env);
  if (!seed) return undefined;
  const bytes = new TextEncoder().encode(seed);
  const keyPair = fromSeed(bytes);
  return { name: OPERATOR, keyPair, seed: bytes, publicKey: keyPair.getPublicKey() };
}

/**
 * One connection for an operator command, as the operator identity (when there is one), without
 * reconnecting: the command either reaches NATS now or fails with one line naming NATS_URL (`fail`
 * makes the command's own error from it).
 */
export async function connectOperatorNats(
  natsUrl: string,
  name: string,
  fail: (message: string) => Error,
  hint = "",
  seed = operatorSeed(),
): Promise<NatsConnection> {
  try {
    return await connect({
      servers: natsUrl.split(",").map((s) => s.trim()),
      name,
      timeout: 3000,
      reconnect: false,
      ...(seed ? { authenticator: nkeyAuthenticator(new TextEncoder().encode(seed)) } : {}),
      ...(process.env.NATS_CA_FILE ? { tls: { caFile: process.env.NATS_CA_FILE } } : {}),
    });
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    const auth = /authorization/i.test(why)
      ? "; the operator identity is NATS_NKEY_SEED, NATS_NKEY_SEED_FILE or .data/identities (bun run cli identities)"
      : "";
    throw fail(`cannot reach NATS at NATS_URL=${maskCredentials(natsUrl)} (${why})${auth}${hint}`);
  }
}

/** connectOperatorNats, `work` on that connection, and the connection closed whatever `work` did. */
export async function withOperatorNats<T>(
  { natsUrl, name, fail, hint }: { natsUrl: string; name: string; fail: (message: string) => Error; hint?: string },
  work: (nc: NatsConnection) => Promise<T>,
): Promise<T> {
  const nc = await connectOperatorNats(natsUrl, name, fail, hint);
  try {
    return await work(nc);
  } finally {
    await nc.close();
  }
}

/**
 * Runs an operator command's main: a failure ends it with one line on stderr, `<command>: <why>` (the
 * error's message unless `explain` says it otherwise), and exit code 1.
 */
export function runOperatorCommand(
  command: string,
  main: () => Promise<void>,
  explain: (e: unknown) => string = (e) => (e instanceof Error ? e.message : String(e)),
): void {
  main().catch((e) => {
    console.error(`${command}: ${explain(e)}`);
    process.exit(1);
  });
}
