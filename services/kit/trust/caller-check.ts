import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { MiddlewareHandler } from "hono";
import type { TokenCheck } from "./identity";

/** Services every caller may ask without a token: health (probes) and server reflection (tools). */
const OPEN_SERVICES = new Set([
  "grpc.health.v1.Health",
  "grpc.reflection.v1.ServerReflection",
  "grpc.reflection.v1alpha.ServerReflection",
]);

const bearer = (value: string | null | undefined) => (value?.startsWith("Bearer ") ? value.slice(7).trim() : undefined);

/**
 * RPC calls need a service or operator token (authorization: Bearer …), whatever the transport (Connect,
 * gRPC, gRPC-Web, on either port): Unauthenticated without a good one, PermissionDenied when its holder
 * may not call this service. Health and reflection stay open.
 */
export function callerInterceptor(check: (token: string | undefined) => TokenCheck): Interceptor {
  return (next) => async (req) => {
    if (OPEN_SERVICES.has(req.service.typeName)) return next(req);
    const result = check(bearer(req.header.get("authorization")));
    if (!result.ok)
      throw new ConnectError(
        result.why,
        result.status === "unauthenticated" ? Code.Unauthenticated : Code.PermissionDenied,
      );
    return next(req);
  };
}

/** The same for a service's plain REST routes: 401 / 403 in the REST error shape. */
export function restCallerCheck(check: (token: string | undefined) => TokenCheck): MiddlewareHandler {
  return async (c, next) => {
    const result = check(bearer(c.req.header("authorization")));
    if (!result.ok)
      return c.json(
        { error: { code: result.status, message: result.why } },
        result.status === "unauthenticated" ? 401 : 403,
        result.status === "unauthenticated" ? { "www-authenticate": 'Bearer realm="platform"' } : {},
      );
    await next();
  };
}
