// `bun run cli token [--for <service>] [--ttl <seconds>]`: a token for calling a service's HTTP and gRPC
// ports as the operator (grpcurl -H "authorization: Bearer $(bun run cli token --for payment)").
// Without --for it is good for any service. The operator's seed as the other commands read it.
import { MAX_TOKEN_TTL_SECONDS, signToken } from "../services/kit/trust";
import { operatorIdentity } from "./operator-nats";

const args = process.argv.slice(2);
const value = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const audience = value("for") ?? "*";
const ttl = Number(value("ttl") ?? 3600);
if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TOKEN_TTL_SECONDS) {
  console.error("token: --ttl must be whole seconds from 1 to 86400");
  process.exit(2);
}
const operator = operatorIdentity();
if (!operator) {
  console.error(
    "token: no operator identity: set NATS_NKEY_SEED or NATS_NKEY_SEED_FILE, or make one with bun run cli identities",
  );
  process.exit(2);
}
console.log(signToken(operator, audience, { ttlSeconds: ttl }));
