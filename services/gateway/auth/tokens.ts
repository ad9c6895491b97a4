import { sign, verify } from "hono/jwt";
import { JwtTokenExpired } from "hono/utils/jwt/types";

const ISSUER = "shop-gateway";
const CUSTOMER_ROLE = "customer";

export interface MintedToken {
  token: string;
  /** ISO 8601. */
  expiresAt: string;
}

export type TokenCheck =
  | { ok: true; customerId: string }
  | { ok: false; why: "invalid" | "expired" }
  /** Signed by us but for a role the gateway does not accept. */
  | { ok: false; why: "role"; role: string };

export interface CustomerTokenOptions {
  /** GATEWAY_JWT_SECRET: whoever knows it mints tokens. */
  secret: string;
  /** How long a minted token is valid. */
  ttlSeconds: number;
  /** The clock (epoch ms), for tests. */
  now?: () => number;
}

/**
 * Customer tokens: HS256 JWTs with sub = customer id and role = "customer", signed with
 * GATEWAY_JWT_SECRET, valid for `ttlSeconds`.
 *
 * @example
 * const tokens = customerTokens({ secret, ttlSeconds: 86400 });
 * const { token } = await tokens.mint(customer.id);
 * await tokens.check(token); // { ok: true, customerId }
 */
export function customerTokens({ secret, ttlSeconds, now = () => Date.now() }: CustomerTokenOptions) {
  return {
    async mint(customerId: string): Promise<MintedToken> {
      const iat = Math.floor(now() / 1000);
      const exp = iat + ttlSeconds;
      const token = await sign({ sub: customerId, role: CUSTOMER_ROLE, iss: ISSUER, iat, exp }, secret, "HS256");
      return { token, expiresAt: new Date(exp * 1000).toISOString() };
    },
    async check(token: string): Promise<TokenCheck> {
      let claims: Record<string, unknown>;
      try {
        claims = await verify(token, secret, { alg: "HS256", iss: ISSUER });
      } catch (e) {
        return { ok: false, why: e instanceof JwtTokenExpired ? "expired" : "invalid" };
      }
      // verify() accepts a token without exp; ours always carry one.
      if (typeof claims.exp !== "number") return { ok: false, why: "invalid" };
      if (claims.role !== CUSTOMER_ROLE) return { ok: false, why: "role", role: String(claims.role ?? "") };
      if (typeof claims.sub !== "string" || claims.sub === "") return { ok: false, why: "invalid" };
      return { ok: true, customerId: claims.sub };
    },
  };
}

export type CustomerTokens = ReturnType<typeof customerTokens>;
