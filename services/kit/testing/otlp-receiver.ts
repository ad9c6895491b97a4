import { decodeSpans, type ReceivedSpan } from "../tracing/otlp-spans";

/** An OTLP/HTTP trace receiver on a port of its own: what the real exporters send, decoded. */
export interface OtlpReceiver {
  /** The base URL, for OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly url: string;
  readonly spans: ReceivedSpan[];
  /** Export requests received, by content type. */
  readonly requests: Map<string, number>;
  /** The spans of one trace. */
  trace(traceId: string): ReceivedSpan[];
  stop(): void;
}

export function startOtlpReceiver(): OtlpReceiver {
  const spans: ReceivedSpan[] = [];
  const requests = new Map<string, number>();
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const url = new URL(req.url);
      if (req.method !== "POST" || url.pathname !== "/v1/traces") return new Response("not found", { status: 404 });
      const type = req.headers.get("content-type") ?? "";
      requests.set(type, (requests.get(type) ?? 0) + 1);
      spans.push(...decodeSpans(new Uint8Array(await req.arrayBuffer()), type));
      return type.includes("json")
        ? Response.json({})
        : new Response(new Uint8Array(), { headers: { "content-type": "application/x-protobuf" } });
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    spans,
    requests,
    trace: (traceId) => spans.filter((s) => s.traceId === traceId),
    stop: () => void server.stop(true),
  };
}
