import { Code } from "@connectrpc/connect";
import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { rateLimitKey } from "../domain/caller";
import { TokenBuckets } from "../domain/token-bucket";
import { apiError } from "./api-error";
import type { GatewayEnv } from "./gateway-env";

/** The socket's peer address (Bun hands its server to fetch as the env), or "unknown" in app.request tests. */
export function clientAddress(env: unknown, req: Request): string {
  const server = env as { requestIP?: (r: Request) => { address: string } | null } | undefined;
  return server?.requestIP?.(req)?.address ?? "unknown";
}

/**
 * Token buckets per client: the client address always, and the authenticated customer too. A customer
 * pays from both, so accounts signed up by one address share that address's bucket (five of them took
 * a burst each). The admin (its key is the platform's) has a bucket of its own. Over the limit the
 * answer is 429 RESOURCE_EXHAUSTED with Retry-After in seconds. Per gateway instance, in memory.
 */
export function rateLimit({
  ratePerSecond,
  burst,
}: {
  ratePerSecond: number;
  burst: number;
}): MiddlewareHandler<GatewayEnv> {
  const buckets = new TokenBuckets({ ratePerSecond, burst });
  return async (c, next) => {
    const caller = c.get("caller");
    const address = clientAddress(c.env, c.req.raw);
    const keys =
      caller.kind === "customer"
        ? [`address:${address}`, rateLimitKey(caller, address)]
        : [rateLimitKey(caller, address)];
    for (const key of keys) {
      const taken = buckets.take(key);
      if (!taken.allowed) return tooMany("rate limit exceeded", taken.retryAfterSeconds);
    }
    await next();
  };
}

/** Sign-ups per client address: each one mints a customer and a token, so far fewer than other requests. */
export function signUpLimit({ perMinute, burst }: { perMinute: number; burst: number }): MiddlewareHandler<GatewayEnv> {
  const buckets = new TokenBuckets({ ratePerSecond: perMinute / 60, burst });
  return async (c, next) => {
    const taken = buckets.take(clientAddress(c.env, c.req.raw));
    if (!taken.allowed) return tooMany("too many sign-ups from this address", taken.retryAfterSeconds);
    await next();
  };
}

function tooMany(what: string, retryAfterSeconds: number) {
  const retryAfter = String(retryAfterSeconds);
  return apiError(Code.ResourceExhausted, `${what}; retry in ${retryAfter} s`, {
    headers: { "retry-after": retryAfter },
  });
}

/** 413 with the gateway's error body once a request body passes `maxBytes` (declared or streamed). */
export function gatewayBodyLimit(maxBytes: number): MiddlewareHandler<GatewayEnv> {
  return bodyLimit({
    maxSize: maxBytes,
    onError: () => apiError(Code.ResourceExhausted, `the request body exceeds ${maxBytes} bytes`, { httpStatus: 413 }),
  });
}

/** Credentials that were sent but do not hold are refused, even on public routes. */
export const rejectBadCredentials: MiddlewareHandler<GatewayEnv> = async (c, next) => {
  const problem = c.get("credentialProblem");
  if (problem) {
    const code = problem.status === 401 ? Code.Unauthenticated : Code.PermissionDenied;
    return apiError(
      code,
      problem.message,
      problem.status === 401 ? { headers: { "www-authenticate": 'Bearer realm="shop"' } } : {},
    );
  }
  await next();
};
