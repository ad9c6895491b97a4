import { describe, expect, test } from "bun:test";
import { createUser } from "@nats-io/nkeys";
import { ConfigError } from "../config";
import { readTrust, signToken, tokenSource, tokenVerifier, type Identity } from "./identity";

const identity = (name: string): Identity => {
  const keyPair = createUser();
  return { name, keyPair, seed: keyPair.getSeed(), publicKey: keyPair.getPublicKey() };
};
const [order, gateway, operator, stranger] = ["order", "gateway", "operator", "order"].map(identity) as [
  Identity,
  Identity,
  Identity,
  Identity,
];
const roster = new Map([order, gateway, operator].map((i) => [i.name, i.publicKey]));
const check = tokenVerifier("payment", roster, ["operator", "order"]);

describe("tokens", () => {
  test("a caller the table allows, with a token for this service, is let in", () => {
    expect(check(signToken(order, "payment"))).toEqual({ ok: true, caller: "order" });
    expect(check(signToken(operator, "*"))).toEqual({ ok: true, caller: "operator" });
  });

  test("refused: none, garbage, a key not the roster's, expired, for another service, from a caller the table does not allow", () => {
    expect(check(undefined)).toMatchObject({ ok: false, status: "unauthenticated" });
    expect(check("not.a-token")).toMatchObject({ ok: false, status: "unauthenticated" });
    expect(check(signToken(stranger, "payment"))).toMatchObject({
      ok: false,
      status: "unauthenticated",
      why: "the token's signature is not order's",
    });
    expect(check(signToken(order, "payment", { now: Date.now() - 600_000 }))).toMatchObject({
      ok: false,
      why: "the token has expired",
    });
    expect(check(signToken(order, "inventory"))).toMatchObject({
      ok: false,
      status: "permission_denied",
      why: "the token is for inventory, not payment",
    });
    expect(check(signToken(order, "*"))).toMatchObject({ ok: false, status: "permission_denied" });
    expect(check(signToken(gateway, "payment"))).toMatchObject({
      ok: false,
      status: "permission_denied",
      why: "gateway may not call payment",
    });
  });

  test("refused without a fault: claims that are not an object, a life longer than a day", () => {
    for (const body of ["null", "1", '"x"', "[]"])
      expect(check(`${Buffer.from(body).toString("base64url")}.AA`)).toMatchObject({
        ok: false,
        status: "unauthenticated",
      });
    expect(check(signToken(operator, "*", { ttlSeconds: 100 * 365 * 86_400 }))).toMatchObject({
      ok: false,
      why: "the token lives longer than 86400 s",
    });
    expect(check(signToken(operator, "*", { ttlSeconds: 86_400 }))).toEqual({ ok: true, caller: "operator" });
  });

  test("a token with its claims changed no longer matches its signature", () => {
    const [body, signature] = signToken(gateway, "inventory").split(".");
    const claims = JSON.parse(Buffer.from(body!, "base64url").toString());
    const forged = `${Buffer.from(JSON.stringify({ ...claims, iss: "order", aud: "payment" })).toString("base64url")}.${signature}`;
    expect(check(forged)).toMatchObject({ ok: false, status: "unauthenticated" });
  });

  test("a caller signs once per audience and renews before the token runs out", () => {
    const source = tokenSource(order, { ttlSeconds: 300 });
    const t0 = Date.now();
    const first = source("payment", t0);
    expect(source("payment", t0 + 60_000)).toBe(first);
    expect(source("inventory", t0)).not.toBe(first);
    expect(source("payment", t0 + 200_000)).not.toBe(first);
  });
});

describe("readTrust", () => {
  test("a seed and the roster from the environment; bad ones named, the seed never quoted", () => {
    const seed = new TextDecoder().decode(order.seed);
    const trust = readTrust("order", {
      NATS_NKEY_SEED: seed,
      PLATFORM_PUBLIC_KEYS: `order=${order.publicKey},gateway=${gateway.publicKey}`,
    });
    expect(trust.identity?.publicKey).toBe(order.publicKey);
    expect([...trust.roster.keys()]).toEqual(["order", "gateway"]);
    expect(readTrust("order", {})).toEqual({ identity: undefined, roster: new Map() });
    let error: unknown;
    try {
      readTrust("order", { NATS_NKEY_SEED: "SUnot-a-seed", PLATFORM_PUBLIC_KEYS: `order=${gateway.publicKey},broken` });
    } catch (e) {
      error = e;
    }
    const text = (error as ConfigError).message;
    expect(text).toContain("NATS_NKEY_SEED is not an nkey user seed");
    expect(text).toContain("PLATFORM_PUBLIC_KEYS has an entry that is not name=U");
    expect(text).not.toContain("SUnot-a-seed");
  });
});
