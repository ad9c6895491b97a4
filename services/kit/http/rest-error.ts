import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";

/** The one error shape of every REST route: `{ "error": { "code", "message" } }`. */
export function restError(c: Context, status: ContentfulStatusCode, code: string, message: string) {
  return c.json({ error: { code, message } }, status);
}

/** Reads a JSON object body, or answers 400 naming what is wrong. */
export async function jsonBody(c: Context): Promise<Record<string, unknown> | Response> {
  if (!c.req.header("content-type")?.startsWith("application/json"))
    return restError(c, 415, "unsupported_media_type", "content-type must be application/json");
  let body: unknown;
  try {
    body = await c.req.json();
  } catch {
    return restError(c, 400, "invalid_argument", "body is not valid JSON");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body))
    return restError(c, 400, "invalid_argument", "body must be a JSON object");
  return body as Record<string, unknown>;
}
