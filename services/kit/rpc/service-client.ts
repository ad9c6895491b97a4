import {
  create,
  isMessage,
  type DescMessage,
  type DescMethodUnary,
  type DescService,
  type MessageInitShape,
  type MessageShape,
} from "@bufbuild/protobuf";
import { createClient, type Client, type Transport, type UnaryResponse } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import type { NatsConnection } from "@nats-io/transport-node";
import { Registry } from "prom-client";
import { callConnectUnary } from "./connect-unary-call";
import { ServiceDiscovery, type DiscoveryOptions } from "../discovery/service-discovery";
import type { Logger } from "../log";
import { isCallerError } from "../resilience/error-classification";
import { isIdempotentCall } from "../resilience/idempotency";
import { staticPolicies, type PolicySource } from "../resilience/policy-source";
import { ResilientCaller } from "../resilience/resilient-call";
import { createResilienceMetrics, type ResilienceMetrics } from "../resilience/resilience-metrics";
import { ServiceUnavailableError } from "../resilience/service-unavailable-error";
import { inSpan, spanAttribute, spanEvent, traceHeaders, tracing } from "../tracing";
import { restClient, type RestClient } from "./rest-client";
import { busRoute, type BusRoute } from "./nats/bus-route";

export type { RestClient, RestInit } from "./rest-client";

/**
 * What to answer, per method, when the target cannot be used (breaker open, retries spent, bulkhead
 * full, no instance): the request and the ServiceUnavailableError in, a response out. Only for callers
 * that have a meaningful answer of their own; a fallback that throws fails the call with its error.
 */
export type Fallbacks<S extends DescService> = {
  [K in keyof S["method"]]?: S["method"][K] extends DescMethodUnary<infer I, infer O>
    ? (request: MessageShape<I>, error: ServiceUnavailableError) => MessageInitShape<O> | Promise<MessageInitShape<O>>
    : never;
};

/**
 * Per method, the longest one attempt may take when that is more than the target's attempt timeout: a
 * method whose work is slow by nature (a charge waits for the card provider) would otherwise be cut off
 * and retried while it is still at work.
 */
export type AttemptTimeouts<S extends DescService> = { [K in keyof S["method"]]?: number };

export interface ServiceClients {
  /**
   * A Connect client for `service`, whose instances are found by name (from its proto package:
   * shop.payment.v1.PaymentService → "payment", or `target`) and called through the target's policies.
   * @example ctx.clients.connect(PaymentService).processPayment({ ... }, { timeoutMs: 10_000 })
   */
  connect<S extends DescService>(
    service: S,
    opts?: { target?: string; fallback?: Fallbacks<S>; attemptTimeoutMs?: AttemptTimeouts<S> },
  ): Client<S>;
  /** The Connect transport behind `connect`, for code that calls methods generically (the gateway). */
  transport(target: string): Transport;
  /** A REST client on the same machinery. @example await ctx.clients.rest("customer")(`/v1/customers/${id}`) */
  rest(target: string): RestClient;
  readonly discovery: ServiceDiscovery;
  readonly caller: ResilientCaller;
  readonly metrics: ResilienceMetrics;
  /** Resolves once policy settings are loaded. */
  readonly ready: Promise<void>;
  stop(): Promise<void>;
}

/** The name a service is registered under, from its proto package: <org>.<name>.<version>.Service (shop.payment.v1.PaymentService → payment). */
export function targetOf(service: DescService): string {
  const parts = service.typeName.split(".");
  if (parts.length < 4 || !/^v\d+/.test(parts.at(-2)!))
    throw new Error(`cannot tell the target of ${service.typeName}: pass { target }`);
  return parts.at(-3)!;
}

/**
 * Clients for the other services of this platform, by name: discovery over NATS (namespace-scoped),
 * load balancing with ejection, and the resilience policies of each target (resilient-call.ts),
 * deadlines propagated from the call being served. The kit gives every service one as `ctx.clients`.
 */
export function createServiceClients(
  nc: NatsConnection,
  opts: {
    namespace: string;
    log: Logger;
    registry?: Registry;
    policies?: PolicySource;
    discovery?: Omit<DiscoveryOptions, "namespace" | "log">;
    /** This process's token for calling a service (absent: calls go without one). */
    token?: (audience: string) => string;
    /**
     * How unary calls travel: "nats" (the default) to instances that answer on the bus while this
     * process's connection is up, over HTTP otherwise; "http" always over HTTP. Streams always go over HTTP.
     */
    transport?: RpcTransport;
    /** Where replies to calls over NATS come (the connection's inbox prefix, when it has its own). */
    inboxPrefix?: string;
  },
): ServiceClients {
  const { log } = opts;
  const discovery = new ServiceDiscovery(nc, { namespace: opts.namespace, log, ...opts.discovery });
  const policies = opts.policies ?? staticPolicies();
  const metrics = createResilienceMetrics(opts.registry ?? new Registry());
  const caller = new ResilientCaller({ discovery, policies, metrics, log });
  const transports = new Map<string, Transport>();
  const token = opts.token;
  const bus =
    (opts.transport ?? "nats") === "nats" ? busRoute(nc, opts.namespace, discovery, opts.inboxPrefix) : undefined;
  const transport = (target: string) =>
    transports.get(target) ?? transports.set(target, resilientTransport(caller, target, { token, bus })).get(target)!;
  return {
    connect(service, o = {}) {
      const target = o.target ?? targetOf(service);
      const own = o.fallback || o.attemptTimeoutMs;
      return createClient(
        service,
        own
          ? resilientTransport(caller, target, {
              fallback: { fallbacks: o.fallback as Fallbacks<DescService> | undefined, metrics, log },
              attemptTimeoutMs: o.attemptTimeoutMs as Record<string, number> | undefined,
              token,
              bus,
            })
          : transport(target),
      );
    },
    transport,
    rest: (target) => restClient(caller, target, token),
    discovery,
    caller,
    metrics,
    ready: policies.ready,
    async stop() {
      discovery.stop();
      bus?.stop();
      await policies.stop();
    },
  };
}

/**
 * A Connect transport (binary, HTTP/1.1) to a service by name. Every unary call runs through the
 * target's policies; each attempt goes to the instance the balancer picks, so a retry may land on
 * another one. Streams are not retried (their input cannot be replayed): they go to one instance.
 */
function resilientTransport(
  caller: ResilientCaller,
  target: string,
  opts: {
    fallback?: { fallbacks?: Fallbacks<DescService>; metrics: ResilienceMetrics; log: Logger };
    attemptTimeoutMs?: Record<string, number>;
    token?: (audience: string) => string;
    bus?: BusRoute;
  } = {},
): Transport {
  const bus = opts.bus;
  const fb = opts.fallback;
  // Unary calls go over Bun's native fetch (its connection pool), without a transport object in between
  // (connect-unary-call.ts): the profile of bench/rpc.ts showed connect-node's node:http emulation as the
  // largest cost of a call, then connect-es's per-call signal plumbing. Streams keep connect-node (fetch
  // cannot stream a request body).
  const byUrl = new Map<string, Transport>();
  const to = (url: string) =>
    byUrl.get(url) ?? byUrl.set(url, createConnectTransport({ baseUrl: url, httpVersion: "1.1" })).get(url)!;
  return {
    unary(method, signal, timeoutMs, header, input) {
      if (!tracing.on) return unary(method, signal, timeoutMs, header, input);
      const name = `${method.parent.typeName}/${method.name}`;
      return inSpan(
        name,
        {
          attributes: { "rpc.system": "connect_rpc", "rpc.service": method.parent.typeName, "rpc.method": method.name },
          isFailure: (e) => !isCallerError(e),
        },
        () => unary(method, signal, timeoutMs, header, input),
      );
    },
    async stream(method, signal, timeoutMs, header, input, contextValues) {
      const { balancer } = caller.target(target);
      const lease = await balancer.acquire();
      try {
        const res = await to(lease.instance.http).stream(
          method,
          signal,
          timeoutMs,
          withTrace(
            withToken(header === undefined ? undefined : new Headers(header), opts.token, target),
            tracing.on ? traceHeaders() : undefined,
          ),
          input,
          contextValues,
        );
        lease.release("success");
        return res;
      } catch (e) {
        lease.release("failure");
        throw e;
      }
    },
  };

  async function unary<I extends DescMessage, O extends DescMessage>(
    method: DescMethodUnary<I, O>,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    header: ConstructorParameters<typeof Headers>[0] | undefined,
    input: MessageInitShape<I>,
  ): Promise<UnaryResponse<I, O>> {
    const own = header === undefined ? undefined : new Headers(header);
    const idempotent = isIdempotentCall(method, input, own);
    const callHeaders = withToken(own, opts.token, target);
    try {
      return await caller.call({
        target,
        idempotent,
        signal,
        timeoutMs,
        attemptTimeoutMs: opts.attemptTimeoutMs?.[method.localName],
        name: tracing.on ? `${method.parent.typeName}/${method.name}` : undefined,
        send: (a) => {
          const subject = bus?.subject(target, a.instance, method);
          const trace = tracing.on ? traceHeaders() : undefined;
          if (trace) spanAttribute("network.transport", subject ? "nats" : "http");
          if (!subject)
            return callConnectUnary(
              a.instance.http,
              method,
              a.signal,
              a.timeoutMs,
              withTrace(callHeaders, trace),
              input,
            );
          // On the bus a traceparent alone rides in the reply subject, as the timeout does: no header to write and parse.
          const traceparent =
            trace?.traceparent?.startsWith("00-") && trace.tracestate === undefined && trace.baggage === undefined
              ? trace.traceparent
              : undefined;
          return bus!.calls.call(method, {
            subject,
            signal: a.signal,
            timeoutMs: a.timeoutMs,
            header: traceparent ? callHeaders : withTrace(callHeaders, trace),
            traceparent,
            input,
            // The bus dropped before the reply: the same instance, over HTTP, under the call's name.
            failover: (callHeader, ms) => {
              const h = new Headers(withTrace(callHeaders, trace));
              for (const k in callHeader) h.set(k, callHeader[k]!);
              return callConnectUnary(a.instance.http, method, a.signal, ms, h, input);
            },
            remember: !idempotent,
          });
        },
      });
    } catch (e) {
      const fallback = fb?.fallbacks?.[method.localName] as
        ((req: unknown, err: ServiceUnavailableError) => unknown) | undefined;
      if (!fallback || !(e instanceof ServiceUnavailableError)) throw e;
      fb!.metrics.fallbacks.inc({ target });
      spanEvent("fallback", { "shop.reason": e.reason });
      fb!.log.warn(
        { target, method: `${method.parent.typeName}/${method.name}`, reason: e.reason, error: e.rawMessage },
        `${target} unavailable: the caller's fallback answers`,
      );
      const request = isMessage(input, method.input) ? input : create(method.input, input);
      const message = create(method.output, (await fallback(request, e)) as MessageInitShape<O>);
      return {
        stream: false,
        service: method.parent,
        method,
        header: new Headers(),
        trailer: new Headers(),
        message,
      };
    }
  }
}

export type RpcTransport = "nats" | "http";

/** The headers with the trace context (traceparent, tracestate, baggage) added, in a copy: the caller's stay as they are for its other attempts. */
function withTrace<H extends Headers | Record<string, string> | undefined>(
  headers: H,
  trace: Record<string, string> | undefined,
): H | Headers | Record<string, string> {
  if (!trace) return headers;
  if (headers instanceof Headers) {
    const h = new Headers(headers);
    for (const k in trace) h.set(k, trace[k]!);
    return h;
  }
  return { ...headers, ...trace };
}

/** The caller's headers with this process's token for `target` (a plain object when the caller sent none: cheaper). */
function withToken(
  headers: Headers | undefined,
  token: ((audience: string) => string) | undefined,
  target: string,
): Headers | Record<string, string> | undefined {
  if (!token) return headers;
  const value = `Bearer ${token(target)}`;
  if (!headers) return { authorization: value };
  headers.set("authorization", value);
  return headers;
}
