import { Code, ConnectError } from "@connectrpc/connect";
import { codeForHttpStatus } from "../resilience/error-classification";
import { isIdempotentRequest } from "../resilience/idempotency";
import type { ResilientCaller } from "../resilience/resilient-call";
import { ServiceUnavailableError } from "../resilience/service-unavailable-error";
import { inSpan, traceHeaders, tracing } from "../tracing";

// A REST service called by name through the same policies as RPC (ctx.clients.rest): the answer is the
// Response; 429 and 5xx count as failures while something may still be tried.

/** fetch() against a REST service by name: `path` is appended to the base URL of the instance chosen. */
export type RestClient = (path: string, init?: RestInit) => Promise<Response>;

export interface RestInit extends RequestInit {
  /** Budget for the whole call, retries included (the deadline of the call being served applies too). */
  timeoutMs?: number;
}

/** A REST answer the policies treat as a failure (429, 5xx); handed back as the Response once nothing more is tried. */
class HttpStatusError extends ConnectError {
  /** ConnectError's own instanceof check matches by name; subclasses need the ordinary prototype check. */
  static override [Symbol.hasInstance](v: unknown): boolean {
    return typeof v === "object" && v !== null && Object.prototype.isPrototypeOf.call(this.prototype, v);
  }
  constructor(
    readonly response: Response,
    code: Code,
    target: string,
  ) {
    super(`${target} answered HTTP ${response.status}`, code);
  }
}

/** The client `ctx.clients.rest(target)` hands out. */
export function restClient(caller: ResilientCaller, target: string, token?: (audience: string) => string): RestClient {
  return async (path, init = {}) => {
    const { timeoutMs, signal, ...rest } = init;
    const method = (rest.method ?? "GET").toUpperCase();
    const headers = new Headers(rest.headers);
    if (token) headers.set("authorization", `Bearer ${token(target)}`);
    // A retried request sends its body again: read a stream once.
    const body = rest.body instanceof ReadableStream ? await new Response(rest.body).arrayBuffer() : rest.body;
    let previous: Response | undefined;
    const call = async () => {
      try {
        return await caller.call({
          target,
          name: `${method} ${target}`,
          idempotent: isIdempotentRequest(method, headers),
          signal: signal ?? undefined,
          timeoutMs,
          send: async (a) => {
            await previous?.body?.cancel().catch(() => {});
            const h = new Headers(headers);
            if (tracing.on) for (const [k, v] of Object.entries(traceHeaders())) h.set(k, v);
            h.set("connect-timeout-ms", String(Math.max(1, Math.ceil(a.timeoutMs))));
            let res: Response;
            try {
              res = await fetch(a.instance.http + path, { ...rest, method, headers: h, body, signal: a.signal });
            } catch (e) {
              throw new ConnectError(
                `${target} at ${a.instance.http}: ${e instanceof Error ? e.message : e}`,
                Code.Unavailable,
                undefined,
                undefined,
                e,
              );
            }
            const code = codeForHttpStatus(res.status);
            if (code === undefined) return res;
            previous = res;
            throw new HttpStatusError(res, code, target);
          },
        });
      } catch (e) {
        if (e instanceof HttpStatusError) return e.response;
        if (
          e instanceof ServiceUnavailableError &&
          e.reason === "retries-exhausted" &&
          e.lastError instanceof HttpStatusError
        )
          return e.lastError.response;
        throw e;
      }
    };
    return tracing.on
      ? inSpan(`${method} ${target}`, { attributes: { "http.request.method": method, "shop.target": target } }, call)
      : call();
  };
}
