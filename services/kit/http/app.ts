import { createConnectRouter, type ConnectRouter, type ConnectRouterOptions } from "@connectrpc/connect";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { requestId } from "hono/request-id";
import { isDatabaseUnavailable } from "../db/unavailable";
import type { Logger } from "../log";
import type { Metrics } from "../metrics";
import type { CallMemory } from "../rpc/call-memory";
import { connectUnaryFastLane, mountConnect, rpcNotFound } from "../rpc/connect-on-hono";
import { probeRoutes, type Readiness } from "./probes";
import { restSpan } from "./rest-span";
import { tracing } from "../tracing";

export type KitEnv = { Variables: { requestId: string } };

/**
 * The HTTP/1.1 side of a service, built without I/O so tests can call `app.request()`: Connect routes
 * first (no middleware in their way), then probes, then the service's own REST routes behind a
 * request id and a body limit. Errors come back as JSON, never as a stack trace. Connect unary POSTs
 * are answered ahead of Hono's routing (connectUnaryFastLane); `app.fetch` (and so `app.request()`)
 * goes through that lane first.
 */
export function buildHttpApp(opts: {
  /** The RPC implementations (registered on a router) and the router's options. */
  rpc?: { routes: (router: ConnectRouter) => void; options: ConnectRouterOptions; memory?: CallMemory };
  rest?: (app: Hono<KitEnv>) => void;
  /** /healthz, /readyz and /metrics, when this listener serves them. */
  probes?: { readiness: Readiness };
  metrics: Metrics;
  log: Logger;
  maxBodyBytes: number;
}): Hono<KitEnv> {
  const app = new Hono<KitEnv>();
  if (opts.rpc) {
    // gRPC needs trailers, which Bun.serve does not send: this port serves Connect and gRPC-Web.
    const router = createConnectRouter({ ...opts.rpc.options, grpc: false });
    opts.rpc.routes(router);
    mountConnect(app, router);
  }
  if (opts.probes) probeRoutes(app, opts.probes.readiness, opts.metrics);
  app.use(requestId());
  if (tracing.on) app.use(restSpan());
  app.use(
    bodyLimit({
      maxSize: opts.maxBodyBytes,
      onError: (c) =>
        c.json({ error: { code: "payload_too_large", message: `body exceeds ${opts.maxBodyBytes} bytes` } }, 413),
    }),
  );
  app.use(async (c, next) => {
    await next();
    opts.metrics.httpRequests.inc({ route: c.req.routePath, status: String(c.res.status) });
    opts.metrics.restTotals.requests++;
    if (c.res.status >= 500) opts.metrics.restTotals.errors++;
  });
  opts.rest?.(app);
  app.notFound(
    (c) =>
      rpcNotFound(c.req.raw) ??
      c.json({ error: { code: "not_found", message: `no route for ${c.req.method} ${c.req.path}` } }, 404),
  );
  app.onError((err, c) => {
    if (err instanceof HTTPException)
      return c.json({ error: { code: "bad_request", message: err.message } }, err.status);
    const id = c.get("requestId");
    opts.log.error({ err, requestId: id, path: c.req.path }, "unhandled error");
    // The fault's text stays in the log; the caller gets the request id to quote.
    if (isDatabaseUnavailable(err))
      return c.json({ error: { code: "unavailable", message: `database unavailable; retry (request ${id})` } }, 503);
    return c.json({ error: { code: "internal", message: `internal error (request ${id})` } }, 500);
  });
  if (opts.rpc) {
    const fastLane = connectUnaryFastLane(opts.rpc.routes, opts.rpc.options, opts.rpc.memory);
    const honoFetch = app.fetch;
    app.fetch = (req, env, ctx) => fastLane(req) ?? honoFetch(req, env, ctx);
  }
  return app;
}
