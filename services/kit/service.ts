import type { NatsConnection } from "@nats-io/transport-node";
import type { Hono } from "hono";
import { hostname } from "node:os";
import { Lifecycle } from "./lifecycle";
import { ConfigError, type Env } from "./config";
import { buildHttpApp, type KitEnv } from "./http/app";
import { openDatabase, type Database } from "./db/database";
import { startEvents } from "./events/start-events";
import { createLogger, type Logger } from "./log";
import { createMetrics, type Metrics } from "./metrics";
import { connectNats } from "./nats/connection";
import { registerService, type Endpoints } from "./nats/registration";
import { startGrpcServer, type GrpcServer } from "./rpc/grpc-server";
import { createServiceClients } from "./rpc/service-client";
import { restDeadline } from "./resilience/deadline";
import { kvPolicies } from "./resilience/policy-source";
import { ServingStatus } from "./rpc/health";
import { serviceRpc } from "./rpc/service-rpc";
import { serveRpcOnNats } from "./rpc/nats/serve-on-nats";
import { CallMemory } from "./rpc/call-memory";
import { restCallerCheck } from "./trust/caller-check";
import { readTrust, tokenSource, tokenVerifier } from "./trust/identity";
import { inboxPrefixOf } from "./trust/nats-permissions";
import { registrationProof, registrationVerifier } from "./trust/registration-proof";
import { startTracing } from "./tracing";
import { assertPortsFree, listenError } from "./ports-free";
import { OPERATOR, type RunningService, type ServiceDefinition, type ServiceParts } from "./service-definition";
import { portsOf, serviceConfig } from "./service-config";

export { OPERATOR } from "./service-definition";
export type { RunningService, ServiceContext, ServiceDefinition, ServiceParts } from "./service-definition";
export { serviceConfig } from "./service-config";

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
