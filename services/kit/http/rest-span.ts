import { SpanStatusCode } from "@opentelemetry/api";
import type { MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import { activeTraceId, contextFromHeaders, inSpan, SpanKind, TRACE_ID_HEADER, tracing } from "../tracing";

const namedRoutes = new WeakMap<Request, string>();

/**
 * Names the route a request matched where Hono cannot see it: a router of its own inside a middleware
 * (the gateway's transcoding), so the span says "POST /v1/orders/{id}:confirm", not "POST /*".
 */
export function nameRoute(req: Request, route: string): void {
  if (tracing.on) namedRoutes.set(req, route);
}

/**
 * A server span per REST request (OpenTelemetry's HTTP conventions: named by method and route), child of
 * the caller's traceparent; the answer names its trace in x-trace-id, so a client can quote it.
 */
export function restSpan(): MiddlewareHandler {
  return (c, next) =>
    inSpan(
      c.req.method,
      {
        kind: SpanKind.SERVER,
        parent: contextFromHeaders(c.req.raw.headers),
        attributes: { "http.request.method": c.req.method, "url.path": c.req.path },
      },
      async (span) => {
        await next();
        // The route of the handler that answered, not this middleware's own ("/*").
        const route = namedRoutes.get(c.req.raw) ?? routePath(c, -1);
        span?.updateName(`${c.req.method} ${route}`);
        span?.setAttribute("http.route", route);
        span?.setAttribute("http.response.status_code", c.res.status);
        if (c.res.status >= 500) span?.setStatus({ code: SpanStatusCode.ERROR });
        c.header(TRACE_ID_HEADER, activeTraceId());
      },
    );
}
