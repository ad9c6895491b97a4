/** Who is calling: nobody yet, a customer (from a bearer token), or an admin (from the API key). */
export type Caller = { kind: "anonymous" } | { kind: "customer"; customerId: string } | { kind: "admin" };

/**
 * Who may call a method: anyone, a customer or an admin (customers then see only their own data),
 * or only an admin.
 */
export type Access = "public" | "customer" | "admin";

export type AccessDecision =
  { allowed: true } | { allowed: false; code: "unauthenticated" | "permission_denied"; message: string };

/** The per-method rule, decided before the request is even parsed. */
export function decideAccess(caller: Caller, access: Access): AccessDecision {
  if (access === "public" || caller.kind === "admin") return { allowed: true };
  if (caller.kind === "anonymous")
    return {
      allowed: false,
      code: "unauthenticated",
      message:
        access === "admin"
          ? "an admin API key (X-API-Key) is required"
          : "a bearer token or an admin API key is required",
    };
  if (access === "admin") return { allowed: false, code: "permission_denied", message: "only an admin may do this" };
  return { allowed: true };
}

/** The key a rate limit counts against: the authenticated subject, else the client address. */
export function rateLimitKey(caller: Caller, address: string): string {
  if (caller.kind === "customer") return `customer:${caller.customerId}`;
  if (caller.kind === "admin") return "admin";
  return `address:${address}`;
}
