/**
 * Whether an error says the database could not be reached or the connection was lost (as opposed to a
 * statement it refused): the same statement may well succeed once the server is back. postgres.js puts
 * its own codes on such errors, Postgres sends class 08 (connection exception) and 57P0x (shutting down,
 * starting up); drizzle wraps them as the `cause` of its query error.
 */
export function isDatabaseUnavailable(e: unknown): boolean {
  for (let x = e, depth = 0; x && typeof x === "object" && depth < 5; x = (x as { cause?: unknown }).cause, depth++) {
    const code = (x as { code?: unknown }).code;
    if (typeof code === "string" && (CONNECTION_CODES.has(code) || code.startsWith("08") || /^57P0[1-3]$/.test(code)))
      return true;
  }
  return false;
}

const CONNECTION_CODES = new Set([
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EHOSTUNREACH",
]);
