import type { ReceivedSpan } from "../../kit/tracing";

/** One trace as the console keeps it: its spans and what a search looks at. */
export interface StoredTrace {
  traceId: string;
  spans: ReceivedSpan[];
  /** When its first span arrived (ms), for eviction: the oldest trace goes first. */
  receivedAt: number;
}

/** What a list of traces shows of each. */
export interface TraceSummary {
  traceId: string;
  root: string;
  services: string[];
  spans: number;
  errors: number;
  startMs: number;
  durationMs: number;
  orderIds: string[];
  customerIds: string[];
}

export interface TraceQuery {
  orderId?: string;
  customerId?: string;
  traceId?: string;
  /** Only traces with a failed span. */
  errors?: boolean;
  limit?: number;
}

/**
 * Recent traces in memory, bounded twice: at most `maxTraces` traces (the oldest dropped first) and
 * at most `maxSpansPerTrace` spans in one (a runaway loop cannot eat the console's memory).
 */
export class TraceStore {
  readonly #traces = new Map<string, StoredTrace>();
  #dropped = 0;

  constructor(
    private readonly limits: { maxTraces: number; maxSpansPerTrace: number } = {
      maxTraces: 2000,
      maxSpansPerTrace: 2000,
    },
    private readonly now: () => number = Date.now,
  ) {}

  add(spans: readonly ReceivedSpan[]): void {
    for (const span of spans) {
      if (!/^[0-9a-f]{32}$/.test(span.traceId)) continue;
      let trace = this.#traces.get(span.traceId);
      if (!trace) {
        trace = { traceId: span.traceId, spans: [], receivedAt: this.now() };
        this.#traces.set(span.traceId, trace);
        this.#evict();
      }
      if (trace.spans.length >= this.limits.maxSpansPerTrace) {
        this.#dropped++;
        continue;
      }
      trace.spans.push(span);
    }
  }

  /** Spans left out because their trace was full. */
  get droppedSpans(): number {
    return this.#dropped;
  }

  get size(): number {
    return this.#traces.size;
  }

  get(traceId: string): StoredTrace | undefined {
    return this.#traces.get(traceId.toLowerCase());
  }

  /** Every span kept, newest trace last (for the call matrix). */
  *allSpans(): Iterable<ReceivedSpan> {
    for (const t of this.#traces.values()) yield* t.spans;
  }

  /** The traces matching every criterion given, newest first. */
  search(q: TraceQuery = {}): TraceSummary[] {
    const out: TraceSummary[] = [];
    const traces = [...this.#traces.values()].reverse();
    for (const t of traces) {
      if (q.traceId && !t.traceId.startsWith(q.traceId.toLowerCase())) continue;
      const s = summarize(t);
      if (q.orderId && !s.orderIds.includes(q.orderId)) continue;
      if (q.customerId && !s.customerIds.includes(q.customerId)) continue;
      if (q.errors && s.errors === 0) continue;
      out.push(s);
      if (out.length >= (q.limit ?? 50)) break;
    }
    return out;
  }

  #evict(): void {
    // A Map iterates in insertion order: the first key is the oldest trace.
    while (this.#traces.size > this.limits.maxTraces) this.#traces.delete(this.#traces.keys().next().value!);
  }
}

const ms = (ns: bigint) => Number(ns / 1_000_000n);

export function summarize(t: StoredTrace): TraceSummary {
  const spans = t.spans;
  const ids = new Set(spans.map((s) => s.spanId));
  // The root: no parent, else a span whose parent is not here (the client's own), else the earliest.
  const byStart = [...spans].sort((a, b) => (a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : 0));
  const root =
    byStart.find((s) => s.parentSpanId === "") ?? byStart.find((s) => !ids.has(s.parentSpanId)) ?? byStart[0];
  const start = byStart[0]?.startNs ?? 0n;
  const end = spans.reduce((m, s) => (s.endNs > m ? s.endNs : m), start);
  const values = (key: string) =>
    [...new Set(spans.map((s) => s.attributes[key]).filter((v): v is string => typeof v === "string"))].sort();
  return {
    traceId: t.traceId,
    root: root ? `${root.service}: ${root.name}` : "",
    services: [...new Set(spans.map((s) => s.service))].sort(),
    spans: spans.length,
    errors: spans.filter((s) => s.status.code === 2).length,
    startMs: ms(start),
    durationMs: Math.max(0, ms(end) - ms(start)),
    orderIds: values("shop.order_id"),
    customerIds: values("shop.customer_id"),
  };
}
