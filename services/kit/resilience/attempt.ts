import { Code, ConnectError } from "@connectrpc/connect";
import { isBulkheadRejectedError } from "cockatiel";
import type { Lease } from "../discovery/load-balancer";
import { NoInstanceError } from "../discovery/no-instance-error";
import { NEVER } from "./call-deadline";
import type { CallInProgress } from "./call-spec";
import { ejectsInstance, isCallerError, outcomeUnknown } from "./error-classification";
import { inSpan, SpanKind, tracing } from "../tracing";
import type { Attempt } from "./call-spec";

/**
 * One attempt of a call: a bulkhead slot on the target, an instance from the balancer (one this call has
 * not tried, while there is one), the send, and the attempt's timeout: min(the attempt limit, what the
 * call still has). Its failure comes out classified: the caller's deadline, the caller's cancel, this
 * attempt's timeout, or the error as it came; the instance's lease is released with what the failure
 * says about the instance (ejected, failed, or not its fault).
 */
export async function attempt<T>(call: CallInProgress<T>, attemptNo: number): Promise<T> {
  const { spec, policy, balancer, deadline, metrics } = call;
  const target = spec.target;
  const signal = deadline.signal;
  if (signal.aborted) throw signal.reason ?? new Error("aborted");
  const began = Date.now();
  const ms = Math.max(1, Math.min(call.attemptLimitMs, deadline.remaining()));
  // The attempt's timeout, cooperative (cockatiel's TimeoutPolicy semantics, without a policy object and
  // its emitters per attempt): its signal aborts at `ms` or with the call's; the attempt is not aborted
  // on return, as a REST response's body is read after the attempt returned it.
  const controller = new AbortController();
  const attemptSignal = controller.signal;
  let timedOut = false;
  // Settles the attempt as soon as it is aborted, wherever it waits (a bulkhead queue does not watch
  // the signal): a promise rejected by whoever aborts, cheaper than an abort listener per attempt.
  let cutOff!: (reason: unknown) => void;
  const abandoned = new Promise<never>((_, reject) => (cutOff = reject));
  const stop = (reason?: unknown) => {
    timedOut = true;
    controller.abort(reason);
    cutOff(attemptSignal.reason);
  };
  const attemptTimer = setTimeout(stop, ms);
  const onCallAbort = () => stop(signal.reason);
  if (signal !== NEVER) signal.addEventListener("abort", onCallAbort, { once: true });
  let lease: Lease | undefined;
  try {
    const value = await Promise.race([
      policy.bulkhead.execute(async () => {
        attemptSignal.throwIfAborted();
        lease = await balancer.acquire(call.tried);
        call.tried.add(lease.instance.id);
        call.attempts++;
        const a = {
          instance: lease.instance,
          signal: attemptSignal,
          timeoutMs: Math.max(1, ms - (Date.now() - began)),
          attempt: attemptNo,
        };
        return tracing.on ? attemptSpan(spec.name ?? target, a, () => spec.send(a)) : spec.send(a);
      }, attemptSignal),
      abandoned,
    ]);
    lease!.release("success");
    metrics.okAttempt(target, lease!.instance.id);
    return value;
  } catch (e) {
    // Refusals before sending (no instance, bulkhead full) go on as they are, for the outcome to name.
    let err: ConnectError =
      e instanceof NoInstanceError || isBulkheadRejectedError(e) ? (e as ConnectError) : ConnectError.from(e);
    const where = lease ? `the attempt on ${lease.instance.id}` : "the wait for a free slot";
    if (deadline.expired() || (timedOut && deadline.remaining() <= 0)) {
      err = new ConnectError(
        `${target}: the caller's deadline passed during ${where}`,
        Code.DeadlineExceeded,
        undefined,
        undefined,
        e,
      );
    } else if (deadline.cancelled.aborted) {
      err = new ConnectError(`${target}: call cancelled by the caller`, Code.Canceled, undefined, undefined, e);
    } else if (timedOut || err.code === Code.DeadlineExceeded) {
      // Our timer, or the transport's own (it gets the same budget) firing a moment earlier.
      metrics.timeouts.inc({ target });
      err = new ConnectError(
        `${target}${lease ? ` instance ${lease.instance.id}` : ""} did not answer within ${ms} ms`,
        Code.DeadlineExceeded,
        undefined,
        undefined,
        e,
      );
    }
    if (e instanceof NoInstanceError) metrics.rejections.inc({ target, reason: "no_instance" });
    if (!isBulkheadRejectedError(err)) call.lastError = err;
    if (!lease) throw err;
    lease.release(ejectsInstance(err) ? "eject" : isCallerError(err) ? "success" : "failure");
    metrics.attempts.inc({ target, instance: lease.instance.id, outcome: Code[err.code] ?? "unknown" });
    if (outcomeUnknown(err)) call.unknownOutcome = err;
    throw err;
  } finally {
    clearTimeout(attemptTimer);
    if (signal !== NEVER) signal.removeEventListener("abort", onCallAbort);
  }
}

/** The attempt as a client span (a child of the call's): where it went, which try it was; the send runs inside it. */
function attemptSpan<T>(name: string, a: Attempt, send: () => Promise<T>): Promise<T> {
  return inSpan(
    name,
    {
      kind: SpanKind.CLIENT,
      attributes: { "shop.instance": a.instance.id, "server.address": a.instance.http, "shop.attempt": a.attempt },
      isFailure: (e) => !isCallerError(e),
    },
    send,
  );
}
