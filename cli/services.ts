// `bun cli/services.ts`: every service registered with NATS in the platform's namespace (PLATFORM_NAMESPACE),
// one line per instance: version, endpoints, uptime and the request and error counts from $SRV.STATS
// (every RPC, then those of them that came over NATS, then plain REST requests and those answered 5xx;
// --json lists each NATS endpoint's figures).
//   --all   every namespace on this NATS (adds a NAMESPACE column)
//   --json  the same as JSON
import { platformNamespace, listInstances, type Instance } from "../services/kit/nats";
import type { NatsConnection } from "@nats-io/transport-node";
import { ConfigError, readConfig } from "../services/kit";
import { registrationVerifier } from "../services/kit/trust";
import { identitiesDir, natsUrlSetting, operatorRoster, runOperatorCommand, withOperatorNats } from "./operator-nats";

/** 3d 4h, 2h 5m, 4m 10s, 12s. */
export function formatUptime(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const [d, h, m] = [Math.floor(s / 86_400), Math.floor((s % 86_400) / 3600), Math.floor((s % 3600) / 60)];
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${m}m`;
  if (m) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

/** The instances as an aligned table, grouped by service; `now` for the uptime. */
export function servicesTable(instances: Instance[], { now = Date.now(), namespaces = false } = {}): string {
  if (instances.length === 0) return "";
  const head = [
    ...(namespaces ? ["NAMESPACE"] : []),
    "SERVICE",
    "INSTANCE",
    "VERSION",
    "HTTP",
    "GRPC",
    "UPTIME",
    "REQUESTS",
    "ERRORS",
    "NATS",
    "REST",
    "REST_ERR",
  ];
  const rows = [...instances]
    .sort(
      (a, b) =>
        a.namespace.localeCompare(b.namespace) ||
        a.name.localeCompare(b.name) ||
        (a.started ?? "").localeCompare(b.started ?? "") ||
        a.id.localeCompare(b.id),
    )
    .map((i) => [
      ...(namespaces ? [i.namespace] : []),
      i.name,
      i.id,
      i.version,
      i.http ?? "-",
      i.grpc ?? "-",
      i.started ? formatUptime(now - Date.parse(i.started)) : "-",
      String(i.requests ?? "-"),
      String(i.errors ?? "-"),
      i.rpcEndpoints?.length ? String(i.rpcEndpoints.reduce((n, e) => n + e.requests, 0)) : "-",
      String(i.restRequests ?? "-"),
      String(i.restErrors ?? "-"),
    ]);
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const numeric = new Set(["UPTIME", "REQUESTS", "ERRORS", "NATS", "REST", "REST_ERR"]);
  const line = (cells: string[]) =>
    cells
      .map((v, c) => (numeric.has(head[c]!) ? v.padStart(widths[c]!) : v.padEnd(widths[c]!)))
      .join("  ")
      .trimEnd();
  return [line(head), ...rows.map(line)].join("\n");
}

async function main() {
  const args = new Set(process.argv.slice(2));
  const unknown = [...args].filter((a) => a !== "--all" && a !== "--json");
  if (unknown.length) throw new Error(`unknown option ${unknown.join(" ")} (use --all, --json)`);
  let cfg;
  try {
    cfg = readConfig({ NATS_URL: natsUrlSetting(), PLATFORM_NAMESPACE: platformNamespace });
  } catch (e) {
    throw new Error(e instanceof ConfigError ? e.problems.join("; ") : String(e));
  }
  await withOperatorNats({ natsUrl: cfg.NATS_URL, name: "services-cli", fail: (m) => new Error(m) }, async (nc) => {
    const all = args.has("--all");
    const trusted = registrationVerifier(operatorRoster());
    const answered = await listInstances(nc, { stats: true, ...(all ? {} : { namespace: cfg.PLATFORM_NAMESPACE }) });
    const instances = answered.filter((i) => trusted({ name: i.registeredAs, metadata: i.metadata }));
    const strangers = answered.filter((i) => !instances.includes(i));
    if (strangers.length)
      console.error(
        `services: left out ${strangers.length} registration${strangers.length === 1 ? "" : "s"} not signed by the service named (checked against PLATFORM_PUBLIC_KEYS or ${identitiesDir()}/public-keys.env): ${strangers.map((i) => `${i.name} ${i.id} (${i.http ?? "no URL"})`).join(", ")}`,
      );
    if (args.has("--json")) console.log(JSON.stringify(instances, null, 2));
    else if (instances.length === 0)
      console.log(
        all
          ? "no services registered"
          : `no services registered in namespace "${cfg.PLATFORM_NAMESPACE}" (is the platform running? --all lists every namespace)`,
      );
    else {
      console.log(servicesTable(instances, { namespaces: all }));
      const services = new Set(instances.map((i) => `${i.namespace}/${i.name}`)).size;
      console.log(
        `\n${services} service${services === 1 ? "" : "s"}, ${instances.length} instance${instances.length === 1 ? "" : "s"}`,
      );
    }
  });
}

if (import.meta.main) runOperatorCommand("services", main);
