import { Code, type Transport } from "@connectrpc/connect";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Hono } from "hono";
import { Counter, type Registry } from "prom-client";
import type { KitEnv } from "../../kit/http";
import type { Logger } from "../../kit";
import { rpcNotFound } from "../../kit/rpc";
import { identifyCaller } from "../auth/identify-caller";
import { customerTokens } from "../auth/tokens";
import type { GatewayConfig } from "../config";
import type { ExposedMethod } from "../domain/exposed-methods";
import { openApiDocument } from "../openapi/openapi-document";
import { httpRoutes, RouteTable } from "../transcoding/http-routes";
import { transcoder } from "../transcoding/transcoder";
import { apiError } from "./api-error";
import { customerOpenApiPaths, customerRoutes, type CustomerFetch } from "./customer-routes";
import type { GatewayEnv } from "./gateway-env";
import { gatewayBodyLimit, rateLimit, rejectBadCredentials, signUpLimit } from "./limits";
import { servicesOpenApiPaths, servicesRoutes } from "./services-routes";

export interface GatewayDeps {
  config: GatewayConfig;
  /** The allow-list of RPCs to serve (EXPOSED_METHODS in production). */
  exposed: readonly ExposedMethod[];
  /** A Connect transport to a backend by service name. */
  transportFor(service: string): Transport;
  customerFetch: CustomerFetch;
  log: Logger;
  version: string;
  /** For GET /v1/services (instances of this namespace); absent in tests that run without NATS. */
  directory?: {
    nats: NatsConnection;
    namespace: string;
    trusted?: (info: { name: string; metadata?: Record<string, string> }) => boolean;
  };
  /** Where the gateway's own metrics go (the service's registry). */
  registry?: Registry;
}

/**
 * The edge API on top of the kit's app (which already serves /healthz, /readyz, /metrics): identify
 * the caller, rate-limit, cap the body, refuse bad credentials, then the routes: OpenAPI, the
 * platform listing, customer sign-up and tokens, and every exposed RPC transcoded from its
 * google.api.http annotation. Built without I/O, so tests can drive it with app.request().
 */
export function gatewayRoutes(deps: GatewayDeps) {
  const { config } = deps;
  const routes = new RouteTable(httpRoutes(deps.exposed));
  const tokens = customerTokens({ secret: config.GATEWAY_JWT_SECRET, ttlSeconds: config.GATEWAY_TOKEN_TTL_SECONDS });
  const openapi = openApiDocument({
    title: "shop-platform gateway",
    version: deps.version,
    routes: routes.all(),
    extraPaths: { ...customerOpenApiPaths, ...servicesOpenApiPaths },
  });
  const requests = deps.registry
    ? new Counter({
        name: "gateway_requests_total",
        help: "Transcoded requests, by RPC and HTTP status",
        labelNames: ["rpc", "status"] as const,
        registers: [deps.registry],
      })
    : undefined;

  return (kitApp: Hono<KitEnv>) => {
    const app = kitApp as unknown as Hono<GatewayEnv>;
    app.use(identifyCaller({ adminApiKey: config.GATEWAY_ADMIN_API_KEY, tokens }));
    app.use(rateLimit({ ratePerSecond: config.GATEWAY_RATE_LIMIT_RPS, burst: config.GATEWAY_RATE_LIMIT_BURST }));
    app.use(gatewayBodyLimit(config.GATEWAY_MAX_BODY_BYTES));
    app.use(rejectBadCredentials);

    app.post(
      "/v1/customers",
      signUpLimit({ perMinute: config.GATEWAY_SIGNUP_RATE_PER_MINUTE, burst: config.GATEWAY_SIGNUP_BURST }),
    );
    app.get("/openapi.json", (c) => c.json(openapi));
    if (deps.directory) servicesRoutes(deps.directory.nats, deps.directory.namespace, deps.directory.trusted)(app);
    customerRoutes({ customerFetch: deps.customerFetch, tokens, log: deps.log })(app);
    app.use(
      transcoder({
        routes,
        transportFor: deps.transportFor,
        upstreamTimeoutMs: config.GATEWAY_UPSTREAM_TIMEOUT_MS,
        log: deps.log,
        requests,
      }),
    );
    // Unknown API paths answer in the gateway's shape; RPC-shaped paths keep the kit's protocol answer.
    app.all(
      "*",
      (c) => rpcNotFound(c.req.raw) ?? apiError(Code.NotFound, `no route for ${c.req.method} ${c.req.path}`),
    );
  };
}
