import { namespaceOf, platformNamespace, policyBucketOf } from "./nats/namespace";
import { integer, oneOf, port, readConfig, text, url, type Env } from "./config";
import type { PortToCheck } from "./ports-free";
import type { ServiceDefinition } from "./service-definition";

/** A service's own settings (ports per service: PAYMENT_HTTP_PORT), read and checked at start. */
export function serviceConfig(name: string, ports: ServiceDefinition["ports"], env: Env) {
  const prefix = name.toUpperCase();
  const cfg = readConfig(
    {
      HTTP_PORT: port(ports.http),
      GRPC_PORT: port(ports.grpc ?? 0),
      OPS_PORT: port(ports.ops ?? 0),
      HOST: text("127.0.0.1"),
      OPS_HOST: text("127.0.0.1"),
      ADVERTISE_HOST: text(""),
      NATS_URL: url("nats://127.0.0.1:4222", ["nats", "tls", "ws", "wss"]),
      NATS_CA_FILE: text(""),
      PLATFORM_NAMESPACE: platformNamespace,
      LOG_LEVEL: oneOf(["trace", "debug", "info", "warn", "error", "fatal", "silent"], "info"),
      MAX_BODY_BYTES: integer(1024 * 1024, { min: 1024, max: 64 * 1024 * 1024 }),
      SHUTDOWN_TIMEOUT_MS: integer(10_000, { min: 0, max: 600_000 }),
      RESILIENCE_POLICY_BUCKET: text(policyBucketOf(namespaceOf(env))),
      DISCOVERY_PING_INTERVAL_MS: integer(500, { min: 50, max: 60_000 }),
      DISCOVERY_REFRESH_MS: integer(5000, { min: 100, max: 600_000 }),
      GRPC_IDLE_TIMEOUT_MS: integer(30_000, { min: 100, max: 3_600_000 }),
      GRPC_MAX_STREAMS_PER_SESSION: integer(100, { min: 1, max: 10_000 }),
      RPC_TRANSPORT: oneOf(["nats", "http"] as const, "nats"),
    },
    // Ports are per service (PAYMENT_HTTP_PORT) so one environment can hold the whole platform.
    {
      ...env,
      HTTP_PORT: env[`${prefix}_HTTP_PORT`],
      GRPC_PORT: env[`${prefix}_GRPC_PORT`],
      OPS_PORT: env[`${prefix}_OPS_PORT`],
    },
    { HTTP_PORT: `${prefix}_HTTP_PORT`, GRPC_PORT: `${prefix}_GRPC_PORT`, OPS_PORT: `${prefix}_OPS_PORT` },
  );
  return cfg;
}

/** The ports a service listens on, each with the variable that sets it. */
export function portsOf(def: ServiceDefinition<any>, cfg: ReturnType<typeof serviceConfig>): PortToCheck[] {
  const prefix = def.name.toUpperCase();
  const ports: PortToCheck[] = [{ variable: `${prefix}_HTTP_PORT`, host: cfg.HOST, port: cfg.HTTP_PORT }];
  if (def.ports.grpc !== undefined)
    ports.push({ variable: `${prefix}_GRPC_PORT`, host: cfg.HOST, port: cfg.GRPC_PORT });
  if (def.ports.ops !== undefined)
    ports.push({ variable: `${prefix}_OPS_PORT`, host: cfg.OPS_HOST, port: cfg.OPS_PORT });
  return ports;
}
