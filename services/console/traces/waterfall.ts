import type { ReceivedSpan } from "../../kit/tracing";

/** One bar of a waterfall: a span placed in time and in its tree. */
export interface WaterfallRow {
  spanId: string;
  parentSpanId: string;
  service: string;
  name: string;
  /** internal, server, client, producer, consumer. */
  kind: string;
  depth: number;
  /** Milliseconds from the trace's first span. */
  offsetMs: number;
  durationMs: number;
  error: boolean;
  statusMessage: string;
  attributes: Record<string, unknown>;
  events: string[];
}

export interface Waterfall {
  traceId: string;
  totalMs: number;
  services: string[];
  rows: WaterfallRow[];
}

const KINDS = ["unspecified", "internal", "server", "client", "producer", "consumer"];
const ns = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The spans of a trace as a waterfall: depth-first from the roots (spans whose parent is not among
 * them), children by start time, each bar placed relative to the first start.
 */
export function waterfall(traceId: string, spans: readonly ReceivedSpan[]): Waterfall {
  const sorted = [...spans].sort((a, b) => ns(a.startNs, b.startNs));
  const ids = new Set(sorted.map((s) => s.spanId));
  const children = new Map<string, ReceivedSpan[]>();
  for (const s of sorted) {
    const parent = ids.has(s.parentSpanId) && s.parentSpanId !== s.spanId ? s.parentSpanId : "";
    children.set(parent, [...(children.get(parent) ?? []), s]);
  }
  const start = sorted[0]?.startNs ?? 0n;
  const end = sorted.reduce((m, s) => (s.endNs > m ? s.endNs : m), start);
  const rows: WaterfallRow[] = [];
  const seen = new Set<string>();
  const visit = (s: ReceivedSpan, depth: number) => {
    if (seen.has(s.spanId)) return;
    seen.add(s.spanId);
    rows.push({
      spanId: s.spanId,
      parentSpanId: s.parentSpanId,
      service: s.service,
      name: s.name,
      kind: KINDS[s.kind] ?? String(s.kind),
      depth,
      offsetMs: Number(s.startNs - start) / 1e6,
      durationMs: Math.max(0, Number(s.endNs - s.startNs) / 1e6),
      error: s.status.code === 2,
      statusMessage: s.status.message,
      attributes: s.attributes,
      events: s.events.map((e) => e.name),
    });
    for (const c of children.get(s.spanId) ?? []) visit(c, depth + 1);
  };
  for (const root of children.get("") ?? []) visit(root, 0);
  return {
    traceId,
    totalMs: Number(end - start) / 1e6,
    services: [...new Set(sorted.map((s) => s.service))].sort(),
    rows,
  };
}

/** One step of an order's life, from the spans of every trace that names it. */
export interface TimelineStep {
  atMs: number;
  traceId: string;
  service: string;
  /** saga, call, event published, event consumed, dead letter. */
  what: string;
  name: string;
  durationMs: number;
  error: boolean;
}

/**
 * An order's timeline: the saga's recorded steps ("record order <state>"), the calls made for it
 * (client spans of the order service, payment's and inventory's server spans), the events published
 * (send) and consumed (process), and dead letters, across every trace that mentions the order.
 */
export function orderTimeline(traces: { traceId: string; spans: readonly ReceivedSpan[] }[]): TimelineStep[] {
  const steps: TimelineStep[] = [];
  for (const { traceId, spans } of traces)
    for (const s of spans) {
      const what = stepKind(s);
      if (!what) continue;
      steps.push({
        atMs: Number(s.startNs / 1_000_000n),
        traceId,
        service: s.service,
        what,
        name: s.name,
        durationMs: Math.max(0, Number(s.endNs - s.startNs) / 1e6),
        error: s.status.code === 2,
      });
    }
  return steps.sort((a, b) => a.atMs - b.atMs);
}

function stepKind(s: ReceivedSpan): string | undefined {
  if (/^record order /.test(s.name)) return "saga";
  if (/^dead-letter /.test(s.name)) return "dead letter";
  if (s.kind === 4 && s.attributes["messaging.operation.type"] === "send") return "event published";
  if (s.kind === 5) return "event consumed";
  // The calls: the caller's span of the whole call (its attempts are children of it).
  if (
    s.kind !== 2 &&
    (s.attributes["rpc.system"] !== undefined || s.attributes["shop.target"] !== undefined) &&
    s.attributes["shop.attempt"] === undefined
  )
    return "call";
  if (s.kind === 2 && s.service !== "gateway") return "served";
  return undefined;
}
