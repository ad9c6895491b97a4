import { bucketsOf, histogramQuantile, type Sample } from "./metrics-text";
import type { InstanceSnapshot, PlatformSnapshot } from "./platform-snapshot";

export const BREAKER_STATES = ["closed", "open", "half-open", "isolated"] as const;

export interface BreakerView {
  /** The calling service and instance, whose breaker it is. */
  caller: string;
  instance: string;
  target: string;
  state: string;
}

export interface InstanceView {
  service: string;
  id: string;
  version: string;
  http?: string;
  grpc?: string;
  ops?: string;
  started?: string;
  uptimeMs?: number;
  requests: number;
  errors: number;
  /** p99 of the RPCs it served, from its rpc_server_duration_seconds (since it started). */
  p99Ms?: number;
  /** The mean over its NATS endpoints, from $SRV.STATS. */
  averageMs?: number;
  endpoints: { name: string; subject: string; requests: number; errors: number; averageMs: number }[];
  breakers: BreakerView[];
  metricsUrl?: string;
  scrapeError?: string;
}

export interface ServicesView {
  at: string;
  instances: InstanceView[];
  /** Requests per second of each service, one value per interval between snapshots (oldest first). */
  rates: Record<string, number[]>;
}

export function breakersOf(i: InstanceSnapshot): BreakerView[] {
  return i.samples
    .filter((s) => s.name === "rpc_client_breaker_state" && s.labels.target)
    .map((s) => ({
      caller: i.name,
      instance: i.id,
      target: s.labels.target!,
      state: BREAKER_STATES[s.value] ?? String(s.value),
    }));
}

const p99Ms = (samples: readonly Sample[]) => {
  const q = histogramQuantile(0.99, bucketsOf(samples, "rpc_server_duration_seconds"));
  return q === undefined ? undefined : Math.round(q * 100_000) / 100;
};

export function servicesView(history: readonly PlatformSnapshot[]): ServicesView {
  const last = history.at(-1);
  const instances = (last?.instances ?? []).map((i): InstanceView => {
    const endpoints = i.rpcEndpoints ?? [];
    const served = endpoints.reduce((n, e) => n + e.requests, 0);
    return {
      service: i.name,
      id: i.id,
      version: i.version,
      http: i.http,
      grpc: i.grpc,
      ops: i.metadata.ops_url,
      started: i.started,
      uptimeMs: i.started && last ? Math.max(0, last.at - Date.parse(i.started)) : undefined,
      requests: i.requests ?? 0,
      errors: i.errors ?? 0,
      p99Ms: p99Ms(i.samples),
      averageMs: served ? endpoints.reduce((n, e) => n + e.averageMs * e.requests, 0) / served : undefined,
      endpoints,
      breakers: breakersOf(i),
      metricsUrl: i.metricsUrl,
      scrapeError: i.scrapeError,
    };
  });
  return { at: new Date(last?.at ?? Date.now()).toISOString(), instances, rates: serviceRates(history) };
}

/** Requests per second per service between consecutive snapshots, counting instances seen in both. */
export function serviceRates(history: readonly PlatformSnapshot[]): Record<string, number[]> {
  const rates: Record<string, number[]> = {};
  for (let k = 1; k < history.length; k++) {
    const [prev, next] = [history[k - 1]!, history[k]!];
    const seconds = (next.at - prev.at) / 1000;
    if (seconds <= 0) continue;
    const before = new Map(prev.instances.map((i) => [i.id, i.requests ?? 0]));
    const perService = new Map<string, number>();
    for (const i of next.instances) {
      const delta = before.has(i.id) ? Math.max(0, (i.requests ?? 0) - before.get(i.id)!) : 0;
      perService.set(i.name, (perService.get(i.name) ?? 0) + delta);
    }
    for (const name of new Set([...Object.keys(rates), ...perService.keys()])) {
      const series = (rates[name] ??= new Array(k - 1).fill(0));
      series.push(Math.round(((perService.get(name) ?? 0) / seconds) * 100) / 100);
    }
  }
  return rates;
}

/** A counter's growth per second between the two last snapshots, summed over what `pick` selects. */
export function ratePerSecond(
  history: readonly PlatformSnapshot[],
  pick: (i: InstanceSnapshot) => number,
): number | undefined {
  return rateBetween(history.at(-2), history.at(-1), pick);
}

/** The same rate between every two consecutive snapshots, oldest first (a sparkline's points). */
export function rateSeries(history: readonly PlatformSnapshot[], pick: (i: InstanceSnapshot) => number): number[] {
  const out: number[] = [];
  for (let k = 1; k < history.length; k++) out.push(rateBetween(history[k - 1], history[k], pick) ?? 0);
  return out;
}

function rateBetween(
  prev: PlatformSnapshot | undefined,
  next: PlatformSnapshot | undefined,
  pick: (i: InstanceSnapshot) => number,
): number | undefined {
  if (!prev || !next || next.at <= prev.at) return undefined;
  const before = new Map(prev.instances.map((i) => [i.id, pick(i)]));
  let delta = 0;
  for (const i of next.instances) if (before.has(i.id)) delta += Math.max(0, pick(i) - before.get(i.id)!);
  return Math.round((delta / ((next.at - prev.at) / 1000)) * 100) / 100;
}
