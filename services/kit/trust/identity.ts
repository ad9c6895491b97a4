import { fromPublic, fromSeed, type KeyPair } from "@nats-io/nkeys";
import { readFileSync } from "node:fs";
import { ConfigError, readConfig, text, type Env } from "../config";

/**
 * Who a process is on the platform, and whom it knows: its nkey (the seed, from NATS_NKEY_SEED or the
 * file NATS_NKEY_SEED_FILE, or the seed inside a NATS credentials file NATS_CREDS for a server with
 * decentralized JWT auth), which authenticates it to NATS and signs the tokens it sends with its calls;
 * and the public keys of the platform's identities (PLATFORM_PUBLIC_KEYS, `name=U...,name=U...`),
 * against which the tokens it receives are checked. Without them the process runs open, and says so.
 */
export interface Identity {
  readonly name: string;
  readonly keyPair: KeyPair;
  readonly seed: Uint8Array;
  readonly publicKey: string;
}

export interface TrustConfig {
  /** This process's identity, when it has one. */
  identity?: Identity;
  /** A NATS credentials file's content (JWT and seed), when the server wants one. */
  creds?: Uint8Array;
  /** Public keys by identity name; empty when calls are not checked. */
  roster: ReadonlyMap<string, string>;
}

const ROSTER_ENTRY = /^([a-z][a-z0-9-]{0,62})=(U[A-Z2-7]{55})$/;

export function readTrust(name: string, env: Env): TrustConfig {
  const cfg = readConfig(
    {
      NATS_NKEY_SEED: { ...text(""), sensitive: true },
      NATS_NKEY_SEED_FILE: text(""),
      NATS_CREDS: text(""),
      PLATFORM_PUBLIC_KEYS: text(""),
    },
    env,
  );
  const problems: string[] = [];
  let seed = cfg.NATS_NKEY_SEED;
  let creds: Uint8Array | undefined;
  if (!seed && cfg.NATS_CREDS) {
    try {
      const text = readFileSync(cfg.NATS_CREDS, "utf8");
      creds = new TextEncoder().encode(text);
      seed = /-----BEGIN USER NKEY SEED-----\s+(\S+)\s+-+END USER NKEY SEED-+/.exec(text)?.[1] ?? "";
      if (!seed) problems.push(`NATS_CREDS=${cfg.NATS_CREDS} holds no user nkey seed`);
    } catch (e) {
      problems.push(`NATS_CREDS=${cfg.NATS_CREDS} cannot be read (${e instanceof Error ? e.message : e})`);
    }
  }
  if (!seed && cfg.NATS_NKEY_SEED_FILE) {
    try {
      seed = readFileSync(cfg.NATS_NKEY_SEED_FILE, "utf8").trim();
    } catch (e) {
      problems.push(
        `NATS_NKEY_SEED_FILE=${cfg.NATS_NKEY_SEED_FILE} cannot be read (${e instanceof Error ? e.message : e})`,
      );
    }
  }
  let identity: Identity | undefined;
  if (seed) {
    try {
      const bytes = new TextEncoder().encode(seed);
      const keyPair = fromSeed(bytes);
      if (!keyPair.getPublicKey().startsWith("U")) throw new Error("not a user seed");
      identity = { name, keyPair, seed: bytes, publicKey: keyPair.getPublicKey() };
    } catch {
      problems.push(
        `${cfg.NATS_NKEY_SEED ? "NATS_NKEY_SEED" : cfg.NATS_NKEY_SEED_FILE ? "NATS_NKEY_SEED_FILE" : "NATS_CREDS"} is not an nkey user seed (SU…)`,
      );
    }
  }
  const roster = new Map<string, string>();
  for (const entry of cfg.PLATFORM_PUBLIC_KEYS.split(",")
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = ROSTER_ENTRY.exec(entry);
    if (!m)
      problems.push(
        `PLATFORM_PUBLIC_KEYS has an entry that is not name=U… (a user's public nkey): ${JSON.stringify(entry.slice(0, 40))}`,
      );
    else roster.set(m[1]!, m[2]!);
  }
  if (identity && roster.size && roster.get(name) !== identity.publicKey)
    problems.push(`PLATFORM_PUBLIC_KEYS lists ${name} with another key than NATS_NKEY_SEED's`);
  if (problems.length) throw new ConfigError(problems);
  return { identity, roster, ...(creds ? { creds } : {}) };
}

/** How long a token holds: short, so one that leaked is soon worthless; callers renew theirs well before. */
export const TOKEN_TTL_SECONDS = 300;
/** The longest life a token may have (an operator's, `bun run cli token --ttl`). */
export const MAX_TOKEN_TTL_SECONDS = 86_400;

interface Claims {
  /** Who signed it (an identity name). */
  iss: string;
  /** The service it is for, or "*" (an operator's token for any). */
  aud: string;
  /** Unix seconds. */
  exp: number;
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64url");

/** A token for calling `audience` as `identity`, valid `ttlSeconds`: `<claims>.<ed25519 signature>`, base64url. */
export function signToken(
  identity: Identity,
  audience: string,
  { ttlSeconds = TOKEN_TTL_SECONDS, now = Date.now() } = {},
): string {
  const claims: Claims = { iss: identity.name, aud: audience, exp: Math.floor(now / 1000) + ttlSeconds };
  const body = new TextEncoder().encode(JSON.stringify(claims));
  return `${b64(body)}.${b64(identity.keyPair.sign(body))}`;
}

export type TokenCheck =
  { ok: true; caller: string } | { ok: false; status: "unauthenticated" | "permission_denied"; why: string };

/**
 * Checks the tokens sent to `service`: signed by a key of the roster, for this service (or any, from the
 * operator), not expired, from an identity allowed to call it. Signatures are slow to check in plain
 * JavaScript (milliseconds): a token that checked out is remembered until it expires.
 */
export function tokenVerifier(
  service: string,
  roster: ReadonlyMap<string, string>,
  allowedCallers: readonly string[],
  { operator = "operator" } = {},
) {
  const good = new Map<string, { caller: string; exp: number }>();
  const keys = new Map([...roster].map(([name, key]) => [name, fromPublic(key)]));
  return (token: string | undefined, now = Date.now()): TokenCheck => {
    if (!token)
      return {
        ok: false,
        status: "unauthenticated",
        why: "no token: calls on this port need a service or operator token (bun run cli token)",
      };
    const seconds = Math.floor(now / 1000);
    const known = good.get(token);
    if (known && known.exp > seconds) return { ok: true, caller: known.caller };
    const [body, signature, extra] = token.split(".");
    if (!body || !signature || extra !== undefined) return { ok: false, status: "unauthenticated", why: "not a token" };
    let claims: Claims;
    try {
      claims = JSON.parse(Buffer.from(body, "base64url").toString());
    } catch {
      return { ok: false, status: "unauthenticated", why: "not a token" };
    }
    if (typeof claims !== "object" || claims === null)
      return { ok: false, status: "unauthenticated", why: "not a token" };
    const key = typeof claims.iss === "string" ? keys.get(claims.iss) : undefined;
    if (!key) return { ok: false, status: "unauthenticated", why: `token of an unknown identity` };
    let valid = false;
    try {
      valid = key.verify(Buffer.from(body, "base64url"), Buffer.from(signature, "base64url"));
    } catch {}
    if (!valid) return { ok: false, status: "unauthenticated", why: `the token's signature is not ${claims.iss}'s` };
    if (typeof claims.exp !== "number" || claims.exp <= seconds)
      return { ok: false, status: "unauthenticated", why: "the token has expired" };
    // Whoever signs decides how long a token lives, within a day: a stolen one must not work for years.
    if (claims.exp > seconds + MAX_TOKEN_TTL_SECONDS + 60)
      return { ok: false, status: "unauthenticated", why: `the token lives longer than ${MAX_TOKEN_TTL_SECONDS} s` };
    if (claims.aud !== service && !(claims.aud === "*" && claims.iss === operator))
      return { ok: false, status: "permission_denied", why: `the token is for ${claims.aud}, not ${service}` };
    if (!allowedCallers.includes(claims.iss))
      return { ok: false, status: "permission_denied", why: `${claims.iss} may not call ${service}` };
    if (good.size > 10_000) good.clear();
    good.set(token, { caller: claims.iss, exp: claims.exp });
    return { ok: true, caller: claims.iss };
  };
}

/** Tokens this process sends, one per audience, signed again well before they expire. */
export function tokenSource(identity: Identity, { ttlSeconds = TOKEN_TTL_SECONDS } = {}) {
  const cache = new Map<string, { token: string; renewAt: number }>();
  return (audience: string, now = Date.now()): string => {
    const held = cache.get(audience);
    if (held && held.renewAt > now) return held.token;
    const token = signToken(identity, audience, { ttlSeconds, now });
    cache.set(audience, { token, renewAt: now + (ttlSeconds * 1000) / 2 });
    return token;
  };
}
