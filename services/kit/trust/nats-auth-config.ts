import type { NatsPermissions } from "./nats-permissions";

/** One identity nats-server knows: its public nkey and what it may do. */
export interface NatsUser {
  name: string;
  publicKey: string;
  permissions: NatsPermissions;
}

/**
 * The `authorization` block of a nats-server configuration for these users (include it from the
 * server's own file). JSON values, which the configuration format takes as they are: no subject is
 * mistaken for a variable.
 */
export function natsAuthorizationConf(users: NatsUser[], { header = "" } = {}): string {
  const entries = users.map(
    (u) => `    # ${u.name}\n    ${JSON.stringify({ nkey: u.publicKey, permissions: u.permissions })}`,
  );
  return `${header ? `${header.replace(/^/gm, "# ")}\n` : ""}authorization {\n  users = [\n${entries.join(",\n")}\n  ]\n}\n`;
}
