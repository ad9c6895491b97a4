import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { contextFromHeaders, inSpan, SpanKind } from "../tracing";
import { isServerFault } from "./log-interceptor";

/**
 * A server span per call, whatever carried it (Connect or gRPC-Web on HTTP/1.1, gRPC on HTTP/2, the NATS
 * transport), child of the caller's span from its traceparent header; named and attributed as
 * OpenTelemetry's RPC conventions say. Outermost, so the deadline, logs and handler run inside it.
 */
export function traceInterceptor(): Interceptor {
  return (next) => (req) =>
    inSpan(
      `${req.service.typeName}/${req.method.name}`,
      {
        kind: SpanKind.SERVER,
        parent: contextFromHeaders(req.header),
        attributes: {
          "rpc.system": "connect_rpc",
          "rpc.service": req.service.typeName,
          "rpc.method": req.method.name,
          "url.full": req.url,
        },
        // A caller's mistake (InvalidArgument, NotFound, ...) is not the server's failure.
        isFailure: (e) => isServerFault(ConnectError.from(e).code),
      },
      async (span) => {
        try {
          return await next(req);
        } catch (e) {
          span?.setAttribute("rpc.connect_rpc.error_code", Code[ConnectError.from(e).code] ?? "unknown");
          throw e;
        }
      },
    );
}
