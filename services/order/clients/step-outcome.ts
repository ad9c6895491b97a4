import { Code, ConnectError } from "@connectrpc/connect";
import type { StepOutcome } from "../domain/saga";

/**
 * What a remote step's failure means for the saga: the callee's refusals (it certainly did not act and
 * will not on a retry) by the codes DESIGN.md calls not retryable, everything else (cannot be reached,
 * timed out, answered something unexpected) as unavailable: not done now, or done unseen.
 */
const REFUSALS = new Set([
  Code.InvalidArgument,
  Code.NotFound,
  Code.AlreadyExists,
  Code.FailedPrecondition,
  Code.PermissionDenied,
  Code.Unauthenticated,
  Code.OutOfRange,
]);

export async function stepOutcome<T>(service: string, call: () => Promise<T>): Promise<StepOutcome<T>> {
  try {
    return { kind: "done", value: await call() };
  } catch (e) {
    const err = ConnectError.from(e);
    const reason = `${service}: ${err.rawMessage}`;
    return REFUSALS.has(err.code) ? { kind: "refused", reason } : { kind: "unavailable", reason };
  }
}

/** A failure of a call whose answer the use case needs now (CreateOrder's lookups), as the order service's refusal. */
export function refusalKind(e: unknown): {
  kind: "invalid" | "not_found" | "not_allowed" | "unavailable";
  message: string;
} {
  const err = ConnectError.from(e);
  const kind =
    err.code === Code.InvalidArgument
      ? "invalid"
      : err.code === Code.NotFound
        ? "not_found"
        : err.code === Code.FailedPrecondition
          ? "not_allowed"
          : "unavailable";
  return { kind, message: err.rawMessage };
}
