import { Code, ConnectError } from "@connectrpc/connect";
import { isCallerError } from "../../kit/resilience";
import type { StepOutcome } from "../domain/saga";

/**
 * What a remote step's failure means for the saga: the callee's refusals (it certainly did not act and
 * will not on a retry) by the codes the kit classifies as the caller's errors, everything else (cannot be
 * reached, timed out, answered something unexpected) as unavailable: not done now, or done unseen.
 */
export async function stepOutcome<T>(service: string, call: () => Promise<T>): Promise<StepOutcome<T>> {
  try {
    return { kind: "done", value: await call() };
  } catch (e) {
    const err = ConnectError.from(e);
    const reason = `${service}: ${err.rawMessage}`;
    return isCallerError(err) ? { kind: "refused", reason } : { kind: "unavailable", reason };
  }
}

export type RefusalKind = "invalid" | "not_found" | "not_allowed" | "unavailable";

/** The order service's refusal for each code a lookup may answer; any other code: unavailable. */
const REFUSAL_BY_CODE: Partial<Record<Code, RefusalKind>> = {
  [Code.InvalidArgument]: "invalid",
  [Code.NotFound]: "not_found",
  [Code.FailedPrecondition]: "not_allowed",
};

/** A failure of a call whose answer the use case needs now (CreateOrder's lookups), as the order service's refusal. */
export function refusalKind(e: unknown): { kind: RefusalKind; message: string } {
  const err = ConnectError.from(e);
  return { kind: REFUSAL_BY_CODE[err.code] ?? "unavailable", message: err.rawMessage };
}
