import type { ReceivedSpan } from "../../kit/tracing";
import { bucketsOf, histogramQuantile } from "./metrics-text";
import type { InstanceSnapshot, PlatformSnapshot } from "./platform-snapshot";
import { ratePerSecond, rateSeries } from "./services-view";

/** Who calls whom, with how much and how well. */
export interface CallEdge {
  from: string;
  to: string;
  /** rpc (a call, synchronous) or event (published by `from`, consumed by `to`). */
  kind: "rpc" | "event";
  /** From the callers' rpc_client_attempts_total (since their start). */
  attempts?: number;
  failedAttempts?: number;
  /** Attempts and failed attempts per second between the two last snapshots. */
  rate?: number;
  errorRate?: number;
  /** Attempts per second over the snapshots kept, oldest first. */
  rates?: number[];
  /** p99 of the target's server side over all its callers (rpc_server_duration_seconds), in ms. */
  serverP99Ms?: number;
  /** From the traces the console holds: how many, how many failed, p99 of the callee's span. */
  traced?: { count: number; errors: number; p99Ms: number };
}

const quantile = (values: number[], q: number) => {
  if (!values.length) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
};

/**
 * The matrix from both sources: metrics (every call, counted by the caller) and the traces kept (a
 * server or consumer span whose parent is a span of another service is one edge crossed).
 */
export function callMatrix(history: readonly PlatformSnapshot[], spans: Iterable<ReceivedSpan>): CallEdge[] {
  const edges = new Map<string, CallEdge>();
  const edge = (from: string, to: string, kind: CallEdge["kind"]) => {
    const key = `${from}\u0000${to}\u0000${kind}`;
    let e = edges.get(key);
    if (!e) edges.set(key, (e = { from, to, kind }));
    return e;
  };
  const last = history.at(-1);
  for (const i of last?.instances ?? [])
    for (const s of i.samples)
      if (s.name === "rpc_client_attempts_total" && s.labels.target) {
        const e = edge(i.name, s.labels.target, "rpc");
        e.attempts = (e.attempts ?? 0) + s.value;
        if (s.labels.outcome !== "ok") e.failedAttempts = (e.failedAttempts ?? 0) + s.value;
      }
  for (const e of edges.values()) {
    const attempts = (failed: boolean) => (i: InstanceSnapshot) =>
      i.name !== e.from
        ? 0
        : i.samples
            .filter(
              (s) =>
                s.name === "rpc_client_attempts_total" &&
                s.labels.target === e.to &&
                (!failed || s.labels.outcome !== "ok"),
            )
            .reduce((n, s) => n + s.value, 0);
    e.rate = ratePerSecond(history, attempts(false));
    e.rates = rateSeries(history, attempts(false));
    e.errorRate = ratePerSecond(history, attempts(true));
    const servers = (last?.instances ?? []).filter((i) => i.name === e.to);
    const buckets = new Map<number, number>();
    for (const i of servers)
      for (const [le, n] of bucketsOf(i.samples, "rpc_server_duration_seconds"))
        buckets.set(le, (buckets.get(le) ?? 0) + n);
    const q = histogramQuantile(0.99, buckets);
    if (q !== undefined) e.serverP99Ms = Math.round(q * 100_000) / 100;
  }

  const byId = new Map<string, ReceivedSpan>();
  const all = [...spans];
  for (const s of all) byId.set(s.spanId, s);
  const traced = new Map<CallEdge, { durations: number[]; errors: number }>();
  for (const s of all) {
    if (s.kind !== 2 && s.kind !== 5) continue;
    const parent = byId.get(s.parentSpanId);
    if (!parent || parent.service === s.service) continue;
    const e = edge(parent.service, s.service, s.kind === 5 ? "event" : "rpc");
    let t = traced.get(e);
    if (!t) traced.set(e, (t = { durations: [], errors: 0 }));
    t.durations.push(Number(s.endNs - s.startNs) / 1e6);
    if (s.status.code === 2) t.errors++;
  }
  for (const [e, t] of traced)
    e.traced = {
      count: t.durations.length,
      errors: t.errors,
      p99Ms: Math.round(quantile(t.durations, 0.99) * 100) / 100,
    };
  return [...edges.values()].sort(
    (a, b) => a.from.localeCompare(b.from) || a.to.localeCompare(b.to) || a.kind.localeCompare(b.kind),
  );
}
