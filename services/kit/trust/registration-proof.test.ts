// A listing of every service is answered by whoever listens: a registration counts only when signed by
// the key of the service it names, over its namespace and URLs.
import { expect, test } from "bun:test";
import { createUser } from "@nats-io/nkeys";
import type { Identity } from "./identity";
import { PROOF_KEY, registrationProof, registrationVerifier } from "./registration-proof";

const identity = (name: string): Identity => {
  const keyPair = createUser();
  return { name, keyPair, seed: keyPair.getSeed(), publicKey: keyPair.getPublicKey() };
};
const payment = identity("payment");
const order = identity("order");
const trusted = registrationVerifier(new Map([payment, order].map((i) => [i.name, i.publicKey])));
const metadata = { namespace: "shop", http_url: "http://10.0.0.5:8082", grpc_url: "http://10.0.0.5:9082" };
const signed = (by: Identity, m: Record<string, string>) => ({ ...m, [PROOF_KEY]: registrationProof(by, m) });

test("payment's own registration passes; another key's, a changed URL or none do not", () => {
  expect(trusted({ name: "shop-payment", metadata: signed(payment, metadata) })).toBe(true);
  expect(trusted({ name: "shop-payment", metadata: signed({ ...order, name: "payment" }, metadata) })).toBe(false);
  expect(
    trusted({ name: "shop-payment", metadata: { ...signed(payment, metadata), http_url: "http://10.6.6.6:8082" } }),
  ).toBe(false);
  expect(trusted({ name: "shop-payment", metadata })).toBe(false);
  expect(trusted({ name: "shop-payment", metadata: { ...metadata, [PROOF_KEY]: "garbage" } })).toBe(false);
  expect(trusted({ name: "shop-stranger", metadata: signed(payment, metadata) })).toBe(false);
  // The name registered must be the service's in the namespace signed for, not a plain or foreign one.
  expect(trusted({ name: "payment", metadata: signed(payment, metadata) })).toBe(false);
  expect(trusted({ name: "other-payment", metadata: signed(payment, metadata) })).toBe(false);
  expect(trusted({ name: "other-payment", metadata: { ...signed(payment, metadata), namespace: "other" } })).toBe(
    false,
  );
});

test("an open platform (no roster) believes every registration", () => {
  expect(registrationVerifier(new Map())({ name: "payment", metadata })).toBe(true);
});
