import { AsyncLocalStorage } from "node:async_hooks";
import type { Interceptor } from "@connectrpc/connect";
import type { MiddlewareHandler } from "hono";

/** The call this process is serving right now: when its caller stops waiting, and a signal for when it gave up. */
export interface IncomingCall {
  /** Epoch ms after which the caller no longer waits; absent when it sent no timeout. */
  readonly deadline?: number;
  /** Aborts when the caller cancels, disconnects or its deadline passes. */
  readonly signal: AbortSignal;
}

const current = new AsyncLocalStorage<IncomingCall>();

/** The incoming call whose handler is running (through any number of awaits), if any. */
export function incomingCall(): IncomingCall | undefined {
  return current.getStore();
}

/** Milliseconds the current caller still waits, or undefined when it set no deadline (or nothing is being served). */
export function remainingMs(now = Date.now()): number | undefined {
  const deadline = current.getStore()?.deadline;
  return deadline === undefined ? undefined : deadline - now;
}

/** Runs `fn` as if serving a call with `scope` (tests and non-HTTP entry points). */
export function withIncomingCall<T>(scope: IncomingCall, fn: () => T): T {
  return current.run(scope, fn);
}

const GRPC_UNITS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };

/**
 * The timeout a caller sent, in ms: `connect-timeout-ms` (Connect, and our REST calls) or `grpc-timeout`
 * (gRPC, gRPC-Web: digits and a unit, e.g. `250m`). Undefined when absent or malformed.
 */
export function timeoutFromHeaders(header: Headers): number | undefined {
  const connect = header.get("connect-timeout-ms");
  if (connect !== null && /^\d{1,10}$/.test(connect)) return Number(connect);
  const grpc = header.get("grpc-timeout");
  const m = grpc === null ? null : /^(\d{1,8})([HMSmun])$/.exec(grpc);
  if (m) return Number(m[1]) * GRPC_UNITS[m[2]!]!;
  return undefined;
}

/**
 * Server side of deadline propagation: remembers the deadline and the abort signal of the call being
 * handled, so the service clients bound every outgoing call by what the caller still waits
 * (min(policy timeout, remaining)) and cancel it when the caller gives up. connect-es itself aborts the
 * handler's `ctx.signal` (the same `req.signal`) at the deadline from the timeout header.
 */
export function deadlineInterceptor(): Interceptor {
  return (next) => async (req) => {
    const timeoutMs = timeoutFromHeaders(req.header);
    const scope: IncomingCall = {
      deadline: timeoutMs === undefined ? undefined : Date.now() + timeoutMs,
      signal: req.signal,
    };
    return current.run(scope, () => next(req));
  };
}

/** The same for plain REST routes: the request's timeout header and its abort signal (client gone). */
export function restDeadline(): MiddlewareHandler {
  return async (c, next) => {
    const timeoutMs = timeoutFromHeaders(c.req.raw.headers);
    const signal =
      timeoutMs === undefined
        ? c.req.raw.signal
        : AbortSignal.any([c.req.raw.signal, AbortSignal.timeout(Math.max(0, timeoutMs))]);
    const scope: IncomingCall = { deadline: timeoutMs === undefined ? undefined : Date.now() + timeoutMs, signal };
    await current.run(scope, () => next());
  };
}
