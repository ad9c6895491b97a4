import { context, propagation, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter as JsonExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as ProtobufExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { detectResources, envDetector, resourceFromAttributes } from "@opentelemetry/resources";
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type Sampler,
} from "@opentelemetry/sdk-trace";
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from "@opentelemetry/semantic-conventions";
import { ConfigError, integer, oneOf, readConfig, text, type Env } from "../config";
import type { Logger } from "pino";

/**
 * Whether this process traces: read on every hot path (a call, an event), so that with tracing off the
 * kit pays one property read and nothing else. Set once, by startTracing.
 */
export const tracing = { on: false, parentBased: false };

const SAMPLERS = [
  "always_on",
  "always_off",
  "traceidratio",
  "parentbased_always_on",
  "parentbased_always_off",
  "parentbased_traceidratio",
] as const;

/** OpenTelemetry's standard variables, the ones this kit honours. */
export function tracingConfig(env: Env) {
  const cfg = readConfig(
    {
      OTEL_SDK_DISABLED: oneOf(["true", "false"] as const, "false"),
      OTEL_EXPORTER_OTLP_ENDPOINT: text(""),
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: text(""),
      OTEL_EXPORTER_OTLP_PROTOCOL: oneOf(["http/protobuf", "http/json"] as const, "http/protobuf"),
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: oneOf(["", "http/protobuf", "http/json"] as const, ""),
      OTEL_SERVICE_NAME: text(""),
      OTEL_TRACES_SAMPLER: oneOf(SAMPLERS, "parentbased_always_on"),
      OTEL_TRACES_SAMPLER_ARG: text("1"),
      OTEL_BSP_SCHEDULE_DELAY: integer(5000, { min: 1, max: 600_000 }),
      OTEL_BSP_MAX_QUEUE_SIZE: integer(2048, { min: 1, max: 1_000_000 }),
    },
    env,
  );
  const ratio = Number(cfg.OTEL_TRACES_SAMPLER_ARG);
  if (cfg.OTEL_TRACES_SAMPLER.endsWith("traceidratio") && !(ratio >= 0 && ratio <= 1))
    throw new ConfigError([`OTEL_TRACES_SAMPLER_ARG=${cfg.OTEL_TRACES_SAMPLER_ARG}: a ratio from 0 to 1`]);
  // The traces endpoint is used as it is; the general one gets the signal's path (the OTLP/HTTP rule).
  const url =
    cfg.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ||
    (cfg.OTEL_EXPORTER_OTLP_ENDPOINT && `${cfg.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, "")}/v1/traces`);
  if (url && !/^https?:\/\/[^/]/.test(url))
    throw new ConfigError([`OTEL_EXPORTER_OTLP_ENDPOINT=${url}: an http:// or https:// URL`]);
  return {
    url,
    enabled: cfg.OTEL_SDK_DISABLED === "false" && url !== "",
    protocol: cfg.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL || cfg.OTEL_EXPORTER_OTLP_PROTOCOL,
    serviceName: cfg.OTEL_SERVICE_NAME,
    sampler: cfg.OTEL_TRACES_SAMPLER,
    ratio,
    scheduleDelayMs: cfg.OTEL_BSP_SCHEDULE_DELAY,
    maxQueueSize: cfg.OTEL_BSP_MAX_QUEUE_SIZE,
  };
}

export type TracingConfig = ReturnType<typeof tracingConfig>;

function samplerOf(cfg: TracingConfig): Sampler {
  const root = cfg.sampler.endsWith("always_on")
    ? new AlwaysOnSampler()
    : cfg.sampler.endsWith("always_off")
      ? new AlwaysOffSampler()
      : new TraceIdRatioBasedSampler(cfg.ratio);
  // Parent-based: a call or an event continues its caller's decision, whatever this process' own would be.
  return cfg.sampler.startsWith("parentbased_") ? new ParentBasedSampler({ root }) : root;
}

export interface Tracing {
  /** Sends what is still queued, then stops (a service's last step before its NATS connection drains). */
  stop(): Promise<void>;
}

let provider: TracerProvider | undefined;

/**
 * Traces this process when OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT) is set and
 * OTEL_SDK_DISABLED is not: W3C trace context and baggage propagated, context kept across awaits by
 * AsyncLocalStorage, spans batched to OTLP/HTTP (protobuf or JSON). Otherwise nothing is registered and
 * the kit's layers skip their spans. One provider per process: a second service started in the same
 * process (tests) shares the first one's.
 */
export function startTracing(opts: {
  service: string;
  version: string;
  instanceId: string;
  env: Env;
  log: Logger;
}): Tracing {
  const cfg = tracingConfig(opts.env);
  if (!cfg.enabled || provider) return { stop: async () => {} };
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(
    new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
  );
  const exporter =
    cfg.protocol === "http/json" ? new JsonExporter({ url: cfg.url }) : new ProtobufExporter({ url: cfg.url });
  const resource = resourceFromAttributes({
    [ATTR_SERVICE_NAME]: cfg.serviceName || opts.service,
    [ATTR_SERVICE_VERSION]: opts.version,
    "service.instance.id": opts.instanceId,
  }).merge(detectResources({ detectors: [envDetector] }));
  const p = new TracerProvider({
    resource,
    sampler: samplerOf(cfg),
    spanProcessors: [
      new BatchSpanProcessor({ exporter, scheduledDelayMillis: cfg.scheduleDelayMs, maxQueueSize: cfg.maxQueueSize }),
    ],
  });
  trace.setGlobalTracerProvider(p);
  provider = p;
  tracing.on = true;
  tracing.parentBased = cfg.sampler.startsWith("parentbased_");
  opts.log.info(
    { url: cfg.url, protocol: cfg.protocol, sampler: cfg.sampler },
    "tracing: exporting spans over OTLP/HTTP",
  );
  return {
    async stop() {
      if (provider !== p) return;
      // Off again, as before start: the kit's layers stop making spans, and a later start may register anew.
      tracing.on = false;
      tracing.parentBased = false;
      provider = undefined;
      trace.disable();
      context.disable();
      propagation.disable();
      await p.shutdown().catch((e) => opts.log.warn({ err: e }, "tracing: spans not sent at shutdown"));
    },
  };
}
