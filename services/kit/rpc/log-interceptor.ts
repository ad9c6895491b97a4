import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { isDatabaseUnavailable } from "../db/unavailable";
import type { Logger } from "../log";
import { activeTraceId, TRACE_ID_HEADER } from "../tracing";

export const REQUEST_ID_HEADER = "x-request-id";

/**
 * Gives every call a request id (the caller's, or a new one), echoes it in the response headers and
 * logs the outcome. Client mistakes log at debug, server faults at error. A handler's verdict (a
 * ConnectError) reaches the caller as it is; any other error is a fault whose text (a query, its
 * parameters, a stack) stays in the log: the caller gets "internal error" and the request id to quote,
 * or "database unavailable" (Unavailable, worth a retry) when the database could not be reached.
 */
export function logInterceptor(log: Logger): Interceptor {
  return (next) => async (req) => {
    const requestId = req.header.get(REQUEST_ID_HEADER) || crypto.randomUUID();
    const started = performance.now();
    try {
      const res = await next(req);
      res.header.set(REQUEST_ID_HEADER, requestId);
      if (log.isLevelEnabled("debug"))
        log.debug({ requestId, method: methodName(req), ms: elapsed(started) }, "rpc ok");
      return res;
    } catch (e) {
      const err = forCaller(e, requestId);
      err.metadata.set(REQUEST_ID_HEADER, requestId);
      const traceId = activeTraceId();
      if (traceId) err.metadata.set(TRACE_ID_HEADER, traceId);
      const fields = { requestId, method: methodName(req), code: Code[err.code], ms: elapsed(started) };
      if (isServerFault(err.code)) log.error({ ...fields, err: e }, err.rawMessage);
      else log.debug(fields, err.rawMessage);
      throw err;
    }
  };
}

function forCaller(e: unknown, requestId: string): ConnectError {
  if (e instanceof ConnectError) return e;
  // The call's own signal (cancel, deadline): connect-es' codes for those.
  if (e instanceof Error && (e.name === "AbortError" || e.name === "TimeoutError")) return ConnectError.from(e);
  if (isDatabaseUnavailable(e))
    return new ConnectError(`database unavailable; retry (request ${requestId})`, Code.Unavailable);
  return new ConnectError(`internal error (request ${requestId})`, Code.Internal);
}

function methodName(req: { service: { typeName: string }; method: { name: string } }): string {
  return `${req.service.typeName}/${req.method.name}`;
}

/** Codes that say the server failed, not the caller: logged as errors, and a server span's error status. */
export function isServerFault(code: Code): boolean {
  return code === Code.Internal || code === Code.Unknown || code === Code.DataLoss || code === Code.Unimplemented;
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 100) / 100;
}
