import { SpanStatusCode } from "@opentelemetry/api";
import type { MiddlewareHandler } from "hono";
import { activeTraceId, contextFromHeaders, inSpan, SpanKind, TRACE_ID_HEADER } from "../tracing";

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
        const route = c.req.routePath;
        span!.updateName(`${c.req.method} ${route}`);
        span!.setAttribute("http.route", route);
        span!.setAttribute("http.response.status_code", c.res.status);
        if (c.res.status >= 500) span!.setStatus({ code: SpanStatusCode.ERROR });
        c.header(TRACE_ID_HEADER, activeTraceId());
      },
    );
}
