import type { DescMethod } from "@bufbuild/protobuf";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";

/**
 * The header a caller sets to say "this call is safe to repeat: the callee deduplicates on this key"
 * (the IETF Idempotency-Key header). REST and RPC calls alike.
 */
export const IDEMPOTENCY_KEY_HEADER = "idempotency-key";

/** The request field (proto name) that carries a deduplication key, as ProcessPaymentRequest does. */
export const IDEMPOTENCY_KEY_FIELD = "idempotency_key";

/**
 * Whether an RPC may be retried after it may have reached the callee. It may when
 *  - its method declares `option idempotency_level = NO_SIDE_EFFECTS` or `IDEMPOTENT`, or
 *  - its request has a non-empty string field named `idempotency_key`, or
 *  - the caller sent an `idempotency-key` header.
 */
export function isIdempotentCall(
  method: Pick<DescMethod, "idempotency" | "input">,
  request: unknown,
  header?: Headers,
): boolean {
  if (
    method.idempotency === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS ||
    method.idempotency === MethodOptions_IdempotencyLevel.IDEMPOTENT
  )
    return true;
  if (header?.get(IDEMPOTENCY_KEY_HEADER)) return true;
  const field = method.input.fields.find((f) => f.name === IDEMPOTENCY_KEY_FIELD);
  if (!field || typeof request !== "object" || request === null) return false;
  const key = (request as Record<string, unknown>)[field.localName];
  return typeof key === "string" && key.length > 0;
}

const SAFE_HTTP_METHODS = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]);

/** The REST counterpart: HTTP's idempotent methods, or any method with an `Idempotency-Key` header. */
export function isIdempotentRequest(method: string, header: Headers): boolean {
  return SAFE_HTTP_METHODS.has(method.toUpperCase()) || !!header.get(IDEMPOTENCY_KEY_HEADER);
}
