import { Code, ConnectError } from "@connectrpc/connect";
import { withheld } from "../../log";
import { isCallerError } from "../../resilience/error-classification";

/**
 * Thrown by a handler when the message can never be handled, however often it comes back (it breaks a
 * rule, it names something that cannot exist): it is terminated at once and becomes a dead letter.
 */
export class PoisonMessage extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PoisonMessage";
  }
}

/**
 * Whether a handler's failure may go away on a later delivery. Unknown errors (a database or network
 * hiccup) count as retryable: max_deliver bounds them, and the dead letter says what they were.
 * An error may say for itself with a boolean `retryable` property.
 */
export function isRetryable(e: unknown): boolean {
  if (e instanceof PoisonMessage) return false;
  if (e instanceof ConnectError) return !isCallerError(e);
  const own = (e as { retryable?: unknown } | undefined)?.retryable;
  if (typeof own === "boolean") return own;
  // A data exception (SQLSTATE class 22: "o-1" as a uuid, a number out of range, a string too long)
  // comes from the message's values, not the database's state: the same values fail the same way again.
  if (sqlStateOf(e)?.startsWith("22")) return false;
  return true;
}

/**
 * The SQLSTATE of a Postgres error (postgres.js and PGlite both set `code`), looked for along the cause
 * chain, since drizzle wraps a failed query's error in its own.
 */
export function sqlStateOf(e: unknown): string | undefined {
  for (let depth = 0; e instanceof Error && depth < 5; depth++, e = e.cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}

/**
 * The log fields of a handler's failure: one line, `error` as describeError says it, with its SQLSTATE
 * when it has one. An expected failure (a refusal, a status from another service, a database error, a
 * poison message) is logged without its stack: it says what happened, and a stack of the kit's frames
 * would only bury that. A programming error (a TypeError, say) keeps its stack.
 */
export function failureLogFields(e: unknown): Record<string, unknown> {
  const fields: Record<string, unknown> = { error: describeError(e) };
  const sqlstate = sqlStateOf(e);
  if (sqlstate) fields.sqlstate = sqlstate;
  if (e instanceof ConnectError) fields.code = Code[e.code];
  const bug =
    e instanceof TypeError || e instanceof ReferenceError || e instanceof RangeError || e instanceof SyntaxError;
  if (bug && e.stack) fields.stack = e.stack;
  return fields;
}

/**
 * One line for a log or a dead letter: the error's message, with its name when it is not a plain Error,
 * and its cause's (a query error says a query failed, its cause why), without the statement's parameters
 * or the values Postgres quotes: dead letters and logs are read by people who need not see customer data.
 */
export function describeError(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const own = e.name && e.name !== "Error" ? `${e.name}: ${withheld(e.message)}` : withheld(e.message);
  const cause = e.cause instanceof Error ? withheld(e.cause.message) : undefined;
  return cause && !own.includes(cause) ? `${own}: ${cause}` : own;
}

/** Delay before the next delivery after delivery `deliveries` failed: the schedule's entry, the last repeating. */
export function backoffDelay(schedule: readonly number[], deliveries: number): number {
  if (schedule.length === 0) return 0;
  return schedule[Math.min(Math.max(deliveries, 1), schedule.length) - 1]!;
}
