// Who may call whom: service identities and tokens, NATS permissions per service, and registration proofs.
export { readTrust, signToken, tokenSource, tokenVerifier, TOKEN_TTL_SECONDS, MAX_TOKEN_TTL_SECONDS } from "./identity";
export type { Identity, TrustConfig } from "./identity";
export { servicePermissions, inboxPrefixOf, OPERATOR_PERMISSIONS } from "./nats-permissions";
export type { NatsPermissions, BusRole } from "./nats-permissions";
export { natsAuthorizationConf } from "./nats-auth-config";
export type { NatsUser } from "./nats-auth-config";
export { registrationProof, registrationVerifier, PROOF_KEY } from "./registration-proof";
