import { ConnectError } from "@connectrpc/connect";
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
  return true;
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
