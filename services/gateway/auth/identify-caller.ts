import { createHash, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import type { Caller } from "../domain/caller";
import type { GatewayEnv } from "../http/gateway-env";
import type { CustomerTokens } from "./tokens";

/**
 * Compares in constant time. Hashing first gives both sides the same length, so not even the key's
 * length leaks through timing.
 */
export function sameSecret(given: string, expected: string): boolean {
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

type Identified = { caller: Caller; problem?: { status: 401 | 403; message: string } };

/** Who sent the request: an admin (X-API-Key), a customer (Authorization: Bearer <JWT>), or nobody. */
export async function identify(headers: Headers, adminApiKey: string, tokens: CustomerTokens): Promise<Identified> {
  const anonymous: Caller = { kind: "anonymous" };
  const apiKey = headers.get("x-api-key");
  if (apiKey !== null) {
    return sameSecret(apiKey, adminApiKey)
      ? { caller: { kind: "admin" } }
      : { caller: anonymous, problem: { status: 401, message: "the API key is not valid" } };
  }
  const authorization = headers.get("authorization");
  if (authorization === null) return { caller: anonymous };
  const bearer = /^Bearer +([A-Za-z0-9_.-]+)\s*$/i.exec(authorization);
  if (!bearer)
    return { caller: anonymous, problem: { status: 401, message: "Authorization must be 'Bearer <token>'" } };
  const check = await tokens.check(bearer[1]!);
  if (check.ok) return { caller: { kind: "customer", customerId: check.customerId } };
  if (check.why === "role")
    return {
      caller: anonymous,
      problem: { status: 403, message: `a token for role "${check.role}" is not accepted here` },
    };
  return {
    caller: anonymous,
    problem: { status: 401, message: check.why === "expired" ? "the token has expired" : "the token is not valid" },
  };
}

/**
 * Sets `caller` (and `credentialProblem` when credentials were sent but do not hold). Rejecting is
 * left to a later middleware, so the rate limit counts bad attempts against the client address.
 */
export function identifyCaller({
  adminApiKey,
  tokens,
}: {
  adminApiKey: string;
  tokens: CustomerTokens;
}): MiddlewareHandler<GatewayEnv> {
  return async (c, next) => {
    const { caller, problem } = await identify(c.req.raw.headers, adminApiKey, tokens);
    c.set("caller", caller);
    if (problem) c.set("credentialProblem", problem);
    await next();
  };
}
