import type { ConnectRouter } from "@connectrpc/connect";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Hono } from "hono";
import type { Env } from "./config";
import type { KitEnv } from "./http/app";
import type { Database } from "./db/database";
import type { EventConsumer } from "./events/consumer/event-consumer";
import type { Logger } from "./log";
import type { Metrics } from "./metrics";
import type { Endpoints } from "./nats/registration";
import type { ServiceClients } from "./rpc/service-client";
import type { EventStream } from "./events/topology/contract";

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
