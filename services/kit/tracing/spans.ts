import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type TextMapGetter,
} from "@opentelemetry/api";
import { tracing } from "./tracing";

export { SpanKind, type Span };

/** The response header (and error metadata) that names a request's trace, for a caller to quote. */
export const TRACE_ID_HEADER = "x-trace-id";

const tracer = () => trace.getTracer("shop-kit");

export interface SpanStart {
  kind?: SpanKind;
  attributes?: Attributes;
  links?: Link[];
  /** The span's parent: another process' (from a message), or the active one when absent. */
  parent?: Context;
  /** Whether a throw marks the span failed (default: every throw); a caller's mistake need not. */
  isFailure?: (e: unknown) => boolean;
}

/**
 * Runs `fn` inside a new span that ends when `fn` settles; a throw is recorded on it. With tracing off,
 * `fn` runs as it is and gets no span: callers write `span?.addEvent(...)`.
 */
export function inSpan<T>(name: string, start: SpanStart, fn: (span: Span | undefined) => Promise<T>): Promise<T> {
  if (!tracing.on) return fn(undefined);
  const parent = start.parent ?? context.active();
  if (sampledOut(parent)) return start.parent ? context.with(parent, fn, undefined, undefined) : fn(undefined);
  const span = tracer().startSpan(name, { kind: start.kind, attributes: start.attributes, links: start.links }, parent);
  return context.with(trace.setSpan(parent, span), async () => {
    try {
      return await fn(span);
    } catch (e) {
      if (start.isFailure?.(e) ?? true) failed(span, e);
      else span.setAttribute("error.type", e instanceof Error ? e.name : typeof e);
      throw e;
    } finally {
      span.end();
    }
  });
}

/**
 * Whether a span under `parent` would be dropped anyway: its trace was sampled out and the sampler follows
 * the parent's decision. Then no span is made at all (no ids, no sampler, no context switch): the parent's
 * context, flag "not sampled" included, is what travels on. This is what keeps a sampled-out trace cheap.
 */
function sampledOut(parent: Context): boolean {
  if (!tracing.parentBased) return false;
  const sc = trace.getSpanContext(parent);
  return sc !== undefined && (sc.traceFlags & TraceFlags.SAMPLED) === 0 && trace.isSpanContextValid(sc);
}

/** A span started now and ended by its owner (one whose end is not a function's return). */
export function startSpan(name: string, start: SpanStart): Span | undefined {
  if (!tracing.on) return undefined;
  const parent = start.parent ?? context.active();
  if (sampledOut(parent)) return undefined;
  return tracer().startSpan(name, { kind: start.kind, attributes: start.attributes, links: start.links }, parent);
}

/** Runs `fn` with `span` active (so the calls and events it makes are its children). */
export function withSpan<T>(span: Span | undefined, fn: () => T): T {
  return span ? context.with(trace.setSpan(context.active(), span), fn) : fn();
}

/** Records a failure on a span: the exception as an event, the status as an error. */
export function failed(span: Span | undefined, e: unknown): void {
  if (!span) return;
  span.recordException(e instanceof Error ? e : String(e));
  span.setStatus({ code: SpanStatusCode.ERROR, message: e instanceof Error ? e.message : String(e) });
}

/** An attribute on the span that is active now, when tracing is on. */
export function spanAttribute(key: string, value: string | number | boolean): void {
  if (tracing.on) trace.getActiveSpan()?.setAttribute(key, value);
}

/** The active span failed (without a throw: a message nak'ed or terminated): an event saying how, and an error status. */
export function spanFailed(event: string, attributes?: Attributes): void {
  if (!tracing.on) return;
  const span = trace.getActiveSpan();
  span?.addEvent(event, attributes);
  span?.setStatus({ code: SpanStatusCode.ERROR, message: event });
}

/** An event on the span that is active now (a retry, a fallback, an ejection), when tracing is on. */
export function spanEvent(name: string, attributes?: Attributes): void {
  if (tracing.on) trace.getActiveSpan()?.addEvent(name, attributes);
}

const headersGetter: TextMapGetter<Headers> = {
  keys: (h) => [...h.keys()],
  get: (h, key) => h.get(key) ?? undefined,
};

/** The trace context a request or message carried (traceparent, tracestate, baggage). */
export function contextFromHeaders(headers: Headers | undefined): Context {
  return headers ? propagation.extract(ROOT_CONTEXT, headers, headersGetter) : ROOT_CONTEXT;
}

/** The context a stored or received `traceparent` names (empty: none). */
export function contextFromTraceparent(traceparent: string, tracestate = ""): Context {
  const carrier: Record<string, string> = { traceparent };
  if (tracestate) carrier.tracestate = tracestate;
  return traceparent ? propagation.extract(ROOT_CONTEXT, carrier) : ROOT_CONTEXT;
}

/** The active context (or `ctx`) as W3C headers: traceparent, and tracestate and baggage when present. */
export function traceHeaders(ctx: Context = context.active()): Record<string, string> {
  const carrier: Record<string, string> = {};
  if (tracing.on) propagation.inject(ctx, carrier);
  return carrier;
}

/** The active span's traceparent, or "" when no span is active. */
export function activeTraceparent(span?: Span): string {
  const sc = (span ?? trace.getActiveSpan())?.spanContext();
  if (!sc || !trace.isSpanContextValid(sc)) return "";
  return `00-${sc.traceId}-${sc.spanId}-0${sc.traceFlags & 1}`;
}

/** The trace id of the active span ("" when none): for logs and the answers that quote it. */
export function activeTraceId(): string {
  if (!tracing.on) return "";
  const sc = trace.getActiveSpan()?.spanContext();
  return sc && trace.isSpanContextValid(sc) ? sc.traceId : "";
}

/** The active span's ids as exemplar labels of a metric, when it is sampled (else none: nothing to look up). */
export function activeExemplar(): Record<string, string> {
  const sc = tracing.on ? trace.getActiveSpan()?.spanContext() : undefined;
  return sc && sc.traceFlags & TraceFlags.SAMPLED ? { trace_id: sc.traceId, span_id: sc.spanId } : {};
}

/** The trace id inside a traceparent ("" when it is not one). */
export function traceIdOf(traceparent: string | undefined): string {
  const m = traceparent && /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/.exec(traceparent);
  return m ? m[1]! : "";
}

/** A database transaction of a domain step (a saga's), as a client span named by what it records. */
export function transactionSpan<T>(name: string, attributes: Attributes, fn: () => Promise<T>): Promise<T> {
  if (!tracing.on) return fn();
  return inSpan(
    name,
    {
      kind: SpanKind.CLIENT,
      attributes: { "db.system.name": "postgresql", "db.operation.name": "transaction", ...attributes },
    },
    fn,
  );
}
