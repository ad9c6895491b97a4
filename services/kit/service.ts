import type { ConnectRouter } from "@connectrpc/connect";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Hono } from "hono";
import { hostname } from "node:os";
import { Lifecycle } from "./lifecycle";
import { namespaceOf, platformNamespace, policyBucketOf } from "./nats/namespace";
import { ConfigError, integer, oneOf, port, readConfig, text, url, type Env } from "./config";
import { buildHttpApp, type KitEnv } from "./http/app";
import { openDatabase, type Database } from "./db/database";
import type { EventConsumer } from "./events/consumer/event-consumer";
import { startEvents } from "./events/start-events";
import { createLogger, type Logger } from "./log";
import { createMetrics, type Metrics } from "./metrics";
import { connectNats } from "./nats/connection";
import { registerService, type Endpoints } from "./nats/registration";
import { startGrpcServer, type GrpcServer } from "./rpc/grpc-server";
import { createServiceClients, type ServiceClients } from "./rpc/service-client";
import { restDeadline } from "./resilience/deadline";
import { kvPolicies } from "./resilience/policy-source";
import { ServingStatus } from "./rpc/health";
import { serviceRpc } from "./rpc/service-rpc";
import { serveRpcOnNats } from "./rpc/nats/serve-on-nats";
import { CallMemory } from "./rpc/call-memory";
import { callerInterceptor, restCallerCheck } from "./trust/caller-check";
import { readTrust, tokenSource, tokenVerifier } from "./trust/identity";
import { inboxPrefixOf } from "./trust/nats-permissions";
import { registrationProof, registrationVerifier } from "./trust/registration-proof";
import type { EventStream } from "./events/topology/contract";
import { startTracing } from "./tracing";
import { assertPortsFree, listenError, type PortToCheck } from "./ports-free";

/** The identity that may call any service (operators' tools); its tokens may be for any audience. */
export const OPERATOR = "operator";

/** What a service hands the kit: its name, default ports and a function that builds its parts. */
export interface ServiceDefinition<S extends Record<string, unknown> = Record<string, never>> {
  name: string;
  version: string;
  description: string;
  /**
   * Defaults; <NAME>_HTTP_PORT, <NAME>_GRPC_PORT and <NAME>_OPS_PORT override them. No grpc means no
   * HTTP/2 port. `ops` is for a service whose HTTP port faces the public (the gateway): its probes,
   * metrics and RPC health/reflection go on a listener of their own (on OPS_HOST, loopback by
   * default), and the public port serves the service's REST routes alone.
   */
  ports: { http: number; grpc?: number; ops?: number };
  /** The service's own tables (a drizzle schema) and the folder of its drizzle-kit migrations. */
  database?: { schema: S; migrations: string };
  /**
   * Publishes events through a transactional outbox (writeEvent in kit/events) to these streams, its
   * own (from its contract file): the schema holds the kit's outboxTable(), and the kit runs the relay.
   */
  outbox?: { streams: readonly EventStream[] };
  /**
   * The identities that may call this service's RPC and REST routes (from the platform's table), checked
   * when PLATFORM_PUBLIC_KEYS is set; the operator always may. Not for a public edge (`ports.ops`).
   */
  callers?: readonly string[];
  /**
   * Requests are refused (InvalidArgument) when they break their protos' `buf.validate` rules, before
   * any handler sees them, on every transport. `false` only for tests of the transports themselves,
   * whose fixtures carry scenarios ("slow:3000") in the fields of real messages.
   */
  validateRequests?: boolean;
  build(ctx: ServiceContext<S>): ServiceParts | Promise<ServiceParts>;
}

export interface ServiceContext<S extends Record<string, unknown> = Record<string, never>> {
  name: string;
  env: Env;
  log: Logger;
  nats: NatsConnection;
  metrics: Metrics;
  /**
   * Clients for the other services of this platform (namespace), by name, found through NATS and
   * wrapped in the target's resilience policies: `clients.connect(PaymentService)`, `clients.rest("customer")`.
   */
  clients: ServiceClients;
  /** The platform namespace this instance registers in (PLATFORM_NAMESPACE). */
  namespace: string;
  /** Whether a registration was signed by the service it names (every one, on an open platform). */
  trustedRegistration: (info: { name: string; metadata?: Record<string, string> }) => boolean;
  /** Present when the definition declares a database; migrated before build runs. */
  db: Database<S>;
}

export interface ServiceParts {
  /** Connect services, served on both ports. */
  rpc?: (router: ConnectRouter) => void;
  /** Plain REST routes on the HTTP/1.1 port. */
  rest?: (app: Hono<KitEnv>) => void;
  /** Extra readiness checks (a database, say); NATS is always checked. */
  checks?: Record<string, () => Promise<void> | void>;
  /** Event consumers (defineConsumer in kit/events), run over the service's database once it is up. */
  consumers?: EventConsumer[];
  /** Called last on shutdown, after the listeners stopped and before NATS drains. */
  stop?(): Promise<void>;
}

export interface RunningService {
  readonly name: string;
  readonly id: string;
  readonly endpoints: Endpoints;
  readonly app: Hono<KitEnv>;
  readonly log: Logger;
  /** Graceful: not ready, deregister, finish in-flight calls, stop parts, drain NATS. Idempotent. */
  stop(): Promise<void>;
}

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

/**
 * Boots a service: config, NATS, database, clients, the service's parts, events, both listeners,
 * registration. Each part registers its stop as it starts (kit/lifecycle.ts): a start that fails
 * half-way stops what had started, and stop() unwinds the same list in reverse.
 */
export async function startService<S extends Record<string, unknown>>(
  def: ServiceDefinition<S>,
  env: Env = process.env,
): Promise<RunningService> {
  const cfg = serviceConfig(def.name, def.ports, env);
  // Before NATS and migrations: a port in use stops the start at once, naming the variable to change.
  await assertPortsFree(portsOf(def, cfg));
  const trust = readTrust(def.name, env);
  const log = createLogger(def.name, cfg.LOG_LEVEL);
  const lifecycle = new Lifecycle(log);
  try {
    // First to start, last to stop: the spans of the shutdown itself still go out.
    lifecycle.started(
      "tracing",
      startTracing({ service: def.name, version: def.version, instanceId: `${hostname()}:${process.pid}`, env, log }),
      (t) => t.stop(),
    );
    const running = await startParts({ def, env, cfg, trust, log, lifecycle, metrics: createMetrics(def.name) });
    log.info({ id: running.id, version: def.version, ...running.endpoints }, `${def.name} started`);
    return running;
  } catch (e) {
    await lifecycle.unwind({ graceful: false });
    throw e;
  }
}

/** The ports a service listens on, each with the variable that sets it. */
function portsOf(def: ServiceDefinition<any>, cfg: ReturnType<typeof serviceConfig>): PortToCheck[] {
  const prefix = def.name.toUpperCase();
  const ports: PortToCheck[] = [{ variable: `${prefix}_HTTP_PORT`, host: cfg.HOST, port: cfg.HTTP_PORT }];
  if (def.ports.grpc !== undefined)
    ports.push({ variable: `${prefix}_GRPC_PORT`, host: cfg.HOST, port: cfg.GRPC_PORT });
  if (def.ports.ops !== undefined)
    ports.push({ variable: `${prefix}_OPS_PORT`, host: cfg.OPS_HOST, port: cfg.OPS_PORT });
  return ports;
}

/** What every part of a starting service is started with. */
interface Boot<S extends Record<string, unknown> = Record<string, unknown>> {
  def: ServiceDefinition<S>;
  env: Env;
  cfg: ReturnType<typeof serviceConfig>;
  trust: ReturnType<typeof readTrust>;
  log: Logger;
  /** Where each part registers its stop as it starts. */
  lifecycle: Lifecycle;
  metrics: Metrics;
}

async function startParts<S extends Record<string, unknown>>(boot: Boot<S>): Promise<RunningService> {
  const { def, env, cfg, trust, log, lifecycle, metrics } = boot;
  const { nats, database, clients, trustedRegistration } = await startConnections(boot);
  const parts = await def.build({
    name: def.name,
    env,
    log,
    nats,
    metrics,
    clients,
    namespace: cfg.PLATFORM_NAMESPACE,
    trustedRegistration,
    db: database?.db as Database<S>,
  });
  if (parts.stop) lifecycle.started("service parts", parts, (p) => p.stop!());
  const events = await startEvents({
    service: def.name,
    namespace: cfg.PLATFORM_NAMESPACE,
    env,
    log,
    nats,
    registry: metrics.registry,
    database,
    outbox: def.outbox,
    consumers: parts.consumers ?? [],
    operatorKey: trust.roster.get(OPERATOR),
  });
  if (events) lifecycle.started("events", events, (e) => e.stop());

  const rpc = startRpc(boot, parts, nats);
  let accepting = true;
  const readiness = {
    ready: () => accepting,
    checks: { nats: () => nats.flush(), ...(database ? { database: database.check } : {}), ...parts.checks },
  };
  // REST handlers get the caller's deadline (and its going away) for their outgoing calls, as RPC handlers do.
  const restCheck = rpc.check && def.ports.ops === undefined ? restCallerCheck(rpc.check) : undefined;
  const rest =
    parts.rest && ((a: Hono<KitEnv>) => (a.use(restDeadline()), restCheck && a.use(restCheck), parts.rest!(a)));
  const http = { routes: rpc.routes, options: rpc.options, memory: rpc.memory };
  const separateOps = def.ports.ops !== undefined;
  const app = separateOps
    ? buildHttpApp({ rest, metrics, log, maxBodyBytes: cfg.MAX_BODY_BYTES })
    : buildHttpApp({ rpc: http, rest, probes: { readiness }, metrics, log, maxBodyBytes: cfg.MAX_BODY_BYTES });
  const listeners = await startListeners(boot, {
    app: app.fetch,
    ops: separateOps
      ? buildHttpApp({ rpc: http, probes: { readiness }, metrics, log, maxBodyBytes: cfg.MAX_BODY_BYTES }).fetch
      : undefined,
    grpc: { routes: rpc.routes, routerOptions: rpc.options },
  });

  const registration = await registerService(nats, {
    name: def.name,
    version: def.version,
    description: def.description,
    endpoints: listeners.endpoints,
    namespace: cfg.PLATFORM_NAMESPACE,
    status: () => ({ ready: accepting }),
    rpcCounts: () => ({
      ...metrics.rpcTotals,
      rest_requests: metrics.restTotals.requests,
      rest_errors: metrics.restTotals.errors,
    }),
    prove: trust.identity && ((metadata) => registrationProof(trust.identity!, metadata)),
    rpc: rpc.onNats && ((id) => rpc.onNats!.endpoints(id)),
  });
  // First to stop: callers see the instance not ready and gone from discovery before the listeners close.
  lifecycle.started("registration", registration, async (r) => {
    accepting = false;
    rpc.health.shutdown();
    await r.stop();
  });
  rpc.health.setAll(ServingStatus.SERVING);

  let stopped: Promise<void> | undefined;
  return {
    name: def.name,
    id: registration.id,
    endpoints: listeners.endpoints,
    app,
    log,
    stop: () => (stopped ??= lifecycle.unwind({ graceful: true }).then(() => log.info(`${def.name} stopped`))),
  };
}

/** What a service stands on: its NATS connection, its database (migrated), and clients for the others. */
async function startConnections<S extends Record<string, unknown>>({
  def,
  env,
  cfg,
  trust,
  log,
  lifecycle,
  metrics,
}: Boot<S>) {
  const inboxPrefix = trust.identity ? inboxPrefixOf(def.name) : undefined;
  const nats = lifecycle.started(
    "nats",
    await connectNats({
      url: cfg.NATS_URL,
      name: def.name,
      log,
      seed: trust.identity?.seed,
      creds: trust.creds,
      caFile: cfg.NATS_CA_FILE || undefined,
      inboxPrefix,
    }),
    // A failed start has nothing in flight to drain, and NATS may be the part that failed.
    (nc, { graceful }) => (graceful ? nc.drain() : nc.close()),
  );
  const database = def.database
    ? lifecycle.started(
        "database",
        await openDatabase({
          service: def.name,
          env,
          log,
          schema: def.database.schema,
          migrationsFolder: def.database.migrations,
        }),
        (db) => db.close(),
      )
    : undefined;
  const trustedRegistration = registrationVerifier(trust.roster);
  const clients = lifecycle.started(
    "clients",
    createServiceClients(nats, {
      namespace: cfg.PLATFORM_NAMESPACE,
      log,
      registry: metrics.registry,
      policies: kvPolicies(nats, { bucket: cfg.RESILIENCE_POLICY_BUCKET, log }),
      discovery: {
        pingIntervalMs: cfg.DISCOVERY_PING_INTERVAL_MS,
        refreshMs: cfg.DISCOVERY_REFRESH_MS,
        trusted: trustedRegistration,
      },
      token: trust.identity && tokenSource(trust.identity),
      transport: cfg.RPC_TRANSPORT,
      inboxPrefix,
    }),
    (c) => c.stop(),
  );
  await clients.ready;
  return { nats, database, clients, trustedRegistration };
}

/**
 * The RPC side, the same on every transport: the service's handlers with health and reflection, the
 * interceptors (the caller check among them, when the platform's keys are known), the memory of calls
 * that may arrive twice, and the unary methods on NATS.
 */
function startRpc({ def, cfg, trust, log, lifecycle, metrics }: Boot<any>, parts: ServiceParts, nats: NatsConnection) {
  // Calls are checked when the platform's public keys are known; a public edge's REST API is not ours to check.
  const check = trust.roster.size
    ? tokenVerifier(def.name, trust.roster, [OPERATOR, ...(def.callers ?? [])])
    : undefined;
  if (!check)
    log.warn(
      "calls on the HTTP and gRPC ports are not checked: PLATFORM_PUBLIC_KEYS is not set (bun run cli identities)",
    );
  const { routes, options, health } = serviceRpc({
    rpc: parts.rpc,
    log,
    metrics,
    maxBodyBytes: cfg.MAX_BODY_BYTES,
    check,
    validate: def.validateRequests,
  });
  // A call may reach this instance over NATS and again over HTTP (the caller's bus dropped): answered once.
  const memory = lifecycle.started("call memory", new CallMemory(), (m) => m.stop());
  // Unary RPCs on the bus as well, from the same routes and options; after the registration stopped
  // (its subscriptions drained, no new call), the calls it accepted are answered before the rest stops.
  const onNats = parts.rpc
    ? lifecycle.started(
        "rpc over NATS",
        serveRpcOnNats({
          namespace: cfg.PLATFORM_NAMESPACE,
          service: def.name,
          routes,
          options,
          nc: nats,
          memory,
          log,
        }),
        (r, { graceful }) => r.idle(graceful ? cfg.SHUTDOWN_TIMEOUT_MS : 0),
      )
    : undefined;
  return { routes, options, health, memory, onNats, check };
}

/**
 * The HTTP/1.1 port, the operations port when kept apart, and the HTTP/2 gRPC port. They stop as one
 * part: together, each finishing its in-flight requests, the HTTP ones cut after SHUTDOWN_TIMEOUT_MS.
 */
async function startListeners(
  { def, cfg, lifecycle }: Boot<any>,
  handlers: {
    app: (req: Request) => Response | Promise<Response>;
    ops?: (req: Request) => Response | Promise<Response>;
    grpc: Pick<Parameters<typeof startGrpcServer>[0], "routes" | "routerOptions">;
  },
): Promise<{ endpoints: Endpoints }> {
  const prefix = def.name.toUpperCase();
  const serve = (
    variable: string,
    hostname: string,
    port: number,
    fetch: (req: Request) => Response | Promise<Response>,
  ) => {
    try {
      return Bun.serve({
        hostname,
        port,
        fetch,
        // A hard cap; the configured limit is enforced per protocol (Connect resource_exhausted, REST 413).
        maxRequestBodySize: cfg.MAX_BODY_BYTES * 2,
        idleTimeout: 30,
      });
    } catch (e) {
      // Taken since assertPortsFree looked: still say which variable sets it.
      throw listenError({ variable: `${prefix}_${variable}`, host: hostname, port }, e);
    }
  };
  let httpServer: ReturnType<typeof serve> | undefined;
  let opsServer: ReturnType<typeof serve> | undefined;
  let grpcServer: GrpcServer | undefined;
  lifecycle.started("listeners", null, async (_, { graceful }) => {
    const timeout = graceful ? cfg.SHUTDOWN_TIMEOUT_MS : 0;
    const forced = setTimeout(() => (httpServer?.stop(true), opsServer?.stop(true)), timeout);
    await Promise.all([httpServer?.stop(!graceful), opsServer?.stop(!graceful), grpcServer?.stop(timeout)]);
    clearTimeout(forced);
  });
  httpServer = serve("HTTP_PORT", cfg.HOST, cfg.HTTP_PORT, handlers.app);
  if (handlers.ops) opsServer = serve("OPS_PORT", cfg.OPS_HOST, cfg.OPS_PORT, handlers.ops);
  if (def.ports.grpc !== undefined) {
    grpcServer = await startGrpcServer({
      ...handlers.grpc,
      host: cfg.HOST,
      port: cfg.GRPC_PORT,
      idleTimeoutMs: cfg.GRPC_IDLE_TIMEOUT_MS,
      maxStreamsPerSession: cfg.GRPC_MAX_STREAMS_PER_SESSION,
    }).catch((e) => {
      throw listenError({ variable: `${prefix}_GRPC_PORT`, host: cfg.HOST, port: cfg.GRPC_PORT }, e);
    });
  }

  const advertise = cfg.ADVERTISE_HOST || (cfg.HOST === "0.0.0.0" || cfg.HOST === "::" ? hostname() : cfg.HOST);
  const endpoints: Endpoints = { http: `http://${advertise}:${httpServer.port}` };
  if (grpcServer) endpoints.grpc = `http://${advertise}:${grpcServer.port}`;
  if (opsServer)
    endpoints.ops = `http://${cfg.OPS_HOST === "0.0.0.0" || cfg.OPS_HOST === "::" ? advertise : cfg.OPS_HOST}:${opsServer.port}`;
  return { endpoints };
}

/**
 * The whole life of a service process: start, log where it listens, stop gracefully on SIGTERM or
 * SIGINT. A bad config or an unreachable dependency ends the process with one clear line.
 */
export async function runService<S extends Record<string, unknown>>(def: ServiceDefinition<S>): Promise<void> {
  // Listened for before the start: a SIGTERM right after the "started" line (a supervisor, a test) is a
  // graceful stop, not the default action's death by signal.
  let service: RunningService | undefined;
  let requested: string | undefined;
  const shutdown = (signal: string) => {
    if (!service) {
      // A second signal while starting ends the process at once; the first stops it once started.
      if (requested) process.exit(130);
      requested = signal;
      return console.error(`${def.name}: ${signal} while starting: stopping once started (again to end at once)`);
    }
    if (stopping) return;
    stopping = true;
    service.log.info({ signal }, "shutting down");
    service.stop().then(
      () => process.exit(0),
      (e) => {
        service!.log.error({ err: e }, "unclean shutdown");
        process.exit(1);
      },
    );
  };
  let stopping = false;
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
  try {
    service = await startService(def);
  } catch (e) {
    const why = e instanceof ConfigError ? e.message : e instanceof Error ? e.message : String(e);
    console.error(`${def.name}: cannot start: ${why}`);
    process.exit(1);
  }
  if (requested) shutdown(requested);
}
