// `bun run cli <command> [args]`: one entry for the operator commands in this folder.
import { existsSync } from "node:fs";
import { join } from "node:path";

const COMMANDS: Record<string, string> = {
  services: "every service, its instances, versions, endpoints, uptime, request and error counts",
  policies: "resilience settings in NATS KV: list | get <target> | set <target> <json> | delete <target>",
  dlq: "dead letters: list | show <id> | replay <id|--all> | purge",
  invariants: "check the invariants against the services' databases",
  seed: "demo customers and products through the running services",
  streams:
    "create the JetStream streams, or bring them to the configured settings (the operator's job on a platform with identities)",
  identities:
    "the platform's NATS identities and their permissions: [--dir] [--namespace] [--events-prefix] [--policy-bucket]",
  k8s: "write the Kubernetes manifests to deploy/k8s (from cli/k8s and the platform's table): [--check] fails when stale",
  token: "a token to call a service's HTTP and gRPC ports as the operator: [--for <service>] [--ttl <seconds>]",
};

const [command, ...args] = process.argv.slice(2);
if (!command || !COMMANDS[command] || !existsSync(join(import.meta.dir, `${command}.ts`))) {
  if (command && command !== "help") console.error(`cli: no command "${command}"`);
  console.error(
    [
      "usage: bun run cli <command> [args]",
      "",
      ...Object.entries(COMMANDS).map(([c, what]) => `  ${c.padEnd(11)}${what}`),
    ].join("\n"),
  );
  process.exit(command && command !== "help" ? 2 : 0);
}
const proc = Bun.spawn([process.execPath, join(import.meta.dir, `${command}.ts`), ...args], {
  stdio: ["inherit", "inherit", "inherit"],
});
process.exit(await proc.exited);
