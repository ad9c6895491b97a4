import { fromPublic, type KeyPair } from "@nats-io/nkeys";
import type { Identity } from "./identity";
import { serviceOfRegistration } from "../nats/namespace";

/** The registration metadata key that carries the proof. */
export const PROOF_KEY = "proof";

/** What an instance vouches for: its service's name, its namespace and where it can be called. */
const claim = (name: string, m: Record<string, string>) =>
  new TextEncoder().encode([name, m.namespace ?? "", m.http_url ?? "", m.grpc_url ?? "", m.ops_url ?? ""].join("\n"));

/**
 * The instance's signature over its registration (name, namespace, URLs), for the metadata. A listing of
 * every service ($SRV.INFO without a name) is answered by whoever subscribes to it, so anyone on the bus
 * could answer as "payment" with its own URLs; a proof made with payment's key cannot be made by them.
 */
export function registrationProof(identity: Identity, metadata: Record<string, string>): string {
  return Buffer.from(identity.keyPair.sign(claim(identity.name, metadata))).toString("base64url");
}

/**
 * Checks registrations (`info.name` as registered: `<namespace>-<service>`) against the platform's public
 * keys: signed by the key of the service it names, for the namespace it names.
 * Without a roster (an open platform) every registration passes. Results are remembered: a listing or a
 * discovery refresh sees the same registrations again and again, and a signature check costs milliseconds.
 */
export function registrationVerifier(
  roster: ReadonlyMap<string, string>,
): (info: { name: string; metadata?: Record<string, string> }) => boolean {
  if (roster.size === 0) return () => true;
  const keys = new Map<string, KeyPair>([...roster].map(([name, key]) => [name, fromPublic(key)]));
  const seen = new Map<string, boolean>();
  return (info) => {
    const m = info.metadata ?? {};
    const proof = m[PROOF_KEY];
    const service = serviceOfRegistration(m.namespace ?? "", info.name);
    const key = service === undefined ? undefined : keys.get(service);
    if (!proof || !key) return false;
    const memo = `${service}\n${proof}\n${m.namespace}\n${m.http_url}\n${m.grpc_url}\n${m.ops_url}`;
    const known = seen.get(memo);
    if (known !== undefined) return known;
    let ok = false;
    try {
      ok = key.verify(claim(service!, m), Buffer.from(proof, "base64url"));
    } catch {}
    if (seen.size > 10_000) seen.clear();
    seen.set(memo, ok);
    return ok;
  };
}
