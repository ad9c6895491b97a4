// Tracing: OpenTelemetry spans from the kit's own layers, W3C trace context on HTTP, NATS and the outbox.
export { startTracing, tracing, tracingConfig, type Tracing, type TracingConfig } from "./tracing";
export {
  activeExemplar,
  activeTraceId,
  activeTraceparent,
  contextFromHeaders,
  contextFromTraceparent,
  failed,
  inSpan,
  spanAttribute,
  spanEvent,
  spanFailed,
  SpanKind,
  startSpan,
  traceHeaders,
  traceIdOf,
  transactionSpan,
  TRACE_ID_HEADER,
  withSpan,
  type Span,
} from "./spans";
export { decodeSpans, type ReceivedSpan } from "./otlp-spans";
