import { afterAll, describe, expect, test } from "bun:test";
import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { ProtobufTraceSerializer, JsonTraceSerializer } from "@opentelemetry/otlp-transformer";
import { createLogger } from "../log";
import { startOtlpReceiver } from "../testing/otlp-receiver";
import { decodeSpans } from "./otlp-spans";
import {
  activeTraceId,
  activeTraceparent,
  contextFromTraceparent,
  inSpan,
  spanEvent,
  startSpan,
  traceHeaders,
  traceIdOf,
} from "./spans";
import { startTracing, tracing, tracingConfig } from "./tracing";

describe("tracingConfig", () => {
  test("off unless an endpoint is set; the general endpoint gets /v1/traces, the traces one is used as it is", () => {
    expect(tracingConfig({}).enabled).toBe(false);
    expect(tracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318/" }).url).toBe(
      "http://127.0.0.1:4318/v1/traces",
    );
    expect(tracingConfig({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://c:4318/x" }).url).toBe("http://c:4318/x");
    expect(tracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_SDK_DISABLED: "true" }).enabled).toBe(
      false,
    );
  });

  test("bad values are refused naming the variable", () => {
    expect(() => tracingConfig({ OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" })).toThrow(/OTEL_EXPORTER_OTLP_PROTOCOL/);
    expect(() => tracingConfig({ OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "2" })).toThrow(
      /OTEL_TRACES_SAMPLER_ARG/,
    );
    expect(() => tracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "127.0.0.1:4318" })).toThrow(
      /OTEL_EXPORTER_OTLP_ENDPOINT/,
    );
  });
});

describe("OTLP decoding", () => {
  // One span as the SDK hands it to exporters, serialized by OpenTelemetry's own serializers for both encodings.
  const readable: any = {
    name: "shop.payment.v1.PaymentService/ProcessPayment",
    kind: SpanKind.SERVER,
    spanContext: () => ({ traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331", traceFlags: 1 }),
    parentSpanContext: { traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "00f067aa0ba902b7", traceFlags: 1 },
    startTime: [1, 0],
    endTime: [1, 5000],
    duration: [0, 5000],
    status: { code: SpanStatusCode.ERROR, message: "declined" },
    attributes: { "rpc.method": "ProcessPayment", "shop.attempt": 2, ok: false },
    links: [{ context: { traceId: "1af7651916cd43dd8448eb211c80319c", spanId: "c7ad6b7169203331", traceFlags: 1 } }],
    events: [{ name: "retry", attributes: { delay_ms: 12 }, time: [1, 10] }],
    resource: { attributes: { "service.name": "payment" }, asyncAttributesPending: false },
    instrumentationScope: { name: "shop-kit" },
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
    ended: true,
  };

  for (const [type, serializer] of [
    ["application/x-protobuf", ProtobufTraceSerializer],
    ["application/json", JsonTraceSerializer],
  ] as const)
    test(`${type}: ids, parent, kind, attributes, events, links and status come out as sent`, () => {
      const [s, ...rest] = decodeSpans(serializer.serializeRequest([readable])!, type);
      expect(rest).toEqual([]);
      expect(s).toMatchObject({
        service: "payment",
        traceId: "0af7651916cd43dd8448eb211c80319c",
        spanId: "b7ad6b7169203331",
        parentSpanId: "00f067aa0ba902b7",
        name: "shop.payment.v1.PaymentService/ProcessPayment",
        kind: 2,
        attributes: { "rpc.method": "ProcessPayment", "shop.attempt": 2, ok: false },
        events: [{ name: "retry", attributes: { delay_ms: 12 } }],
        links: [{ traceId: "1af7651916cd43dd8448eb211c80319c", spanId: "c7ad6b7169203331" }],
        status: { code: 2, message: "declined" },
      });
    });
});

describe("with tracing on (this process)", () => {
  const receiver = startOtlpReceiver();
  const running = startTracing({
    service: "tracing-test",
    version: "0",
    instanceId: "t-1",
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: "20" },
    log: createLogger("tracing-test", "silent"),
  });
  afterAll(async () => {
    await running.stop();
    receiver.stop();
  });

  test("a child continues its parent's trace across awaits; the headers carry the active span; events land", async () => {
    expect(tracing.on).toBe(true);
    const upstream = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let headers: Record<string, string> = {};
    await inSpan("outer", { kind: SpanKind.SERVER, parent: contextFromTraceparent(upstream) }, async () => {
      await Bun.sleep(1);
      await inSpan("inner", { kind: SpanKind.CLIENT }, async () => {
        spanEvent("retry", { attempt: 1 });
        headers = traceHeaders();
        expect(headers.traceparent).toBe(activeTraceparent());
      });
    });
    await expect(inSpan("failing", {}, async () => Promise.reject(new Error("no")))).rejects.toThrow("no");
    const traceId = traceIdOf(upstream);
    expect(traceIdOf(headers.traceparent)).toBe(traceId);
    const deadline = Date.now() + 5000;
    while (receiver.trace(traceId).length < 2 && Date.now() < deadline) await Bun.sleep(10);
    const spans = receiver.trace(traceId);
    const outer = spans.find((s) => s.name === "outer")!;
    const inner = spans.find((s) => s.name === "inner")!;
    expect(outer).toMatchObject({ service: "tracing-test", parentSpanId: "00f067aa0ba902b7", kind: 2 });
    expect(inner).toMatchObject({ parentSpanId: outer.spanId, kind: 3, events: [{ name: "retry" }] });
    expect(headers.traceparent).toBe(`00-${traceId}-${inner.spanId}-01`);
    while (!receiver.spans.some((s) => s.name === "failing") && Date.now() < deadline) await Bun.sleep(10);
    expect(receiver.spans.find((s) => s.name === "failing")!.status).toEqual({ code: 2, message: "no" });
    expect(receiver.requests.get("application/x-protobuf")).toBeGreaterThan(0);
  });

  test("under a trace sampled out upstream no span is made, and the context travels on unsampled", async () => {
    const upstream = "00-5bf92f3577b34da6a3ce929d0e0e4736-10f067aa0ba902b7-00";
    await inSpan("server", { kind: SpanKind.SERVER, parent: contextFromTraceparent(upstream) }, async (span) => {
      expect(span).toBeUndefined();
      await inSpan("client", { kind: SpanKind.CLIENT }, async (inner) => {
        expect(inner).toBeUndefined();
        expect(startSpan("create x", {})).toBeUndefined();
        expect(traceHeaders().traceparent).toBe(upstream);
        expect(activeTraceId()).toBe(traceIdOf(upstream));
      });
    });
    // Spans go out in the order they end: once a later one arrived, an earlier one would have too.
    await inSpan("marker", {}, async () => {});
    const deadline = Date.now() + 5000;
    while (!receiver.spans.some((s) => s.name === "marker") && Date.now() < deadline) await Bun.sleep(10);
    expect(receiver.spans.some((s) => s.name === "marker")).toBe(true);
    expect(receiver.trace(traceIdOf(upstream))).toEqual([]);
  });
});

test("stopped, tracing is off again: no span, no headers", async () => {
  expect(tracing.on).toBe(false);
  await inSpan("after", {}, async (span) => {
    expect(span).toBeUndefined();
    expect(traceHeaders()).toEqual({});
  });
});
