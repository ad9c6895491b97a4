import type { NatsConnection } from "@nats-io/transport-node";
import { listInstances, type Instance } from "../../kit/nats";
import { parseMetrics, type Sample } from "./metrics-text";

/** One instance as the console saw it at one moment: its registration, $SRV.STATS and /metrics. */
export interface InstanceSnapshot extends Instance {
  /** Where its metrics were read (the operations listener when it has one). */
  metricsUrl?: string;
  samples: Sample[];
  /** Why its /metrics could not be read, when it could not. */
  scrapeError?: string;
}

export interface PlatformSnapshot {
  at: number;
  instances: InstanceSnapshot[];
}

/** The instances of a namespace with their figures, each one's /metrics read at once (bounded wait). */
export async function takeSnapshot(
  nc: NatsConnection,
  {
    namespace,
    trusted,
    scrapeTimeoutMs = 1500,
    now = Date.now,
  }: {
    namespace: string;
    trusted: (info: { name: string; metadata?: Record<string, string> }) => boolean;
    scrapeTimeoutMs?: number;
    now?: () => number;
  },
): Promise<PlatformSnapshot> {
  const at = now();
  const instances = await listInstances(nc, { namespace, stats: true, trusted, waitMs: 150 });
  return {
    at,
    instances: await Promise.all(
      instances.map(async (i) => {
        const metricsUrl = (i.metadata.ops_url ?? i.http)?.replace(/\/$/, "");
        if (!metricsUrl) return { ...i, samples: [] };
        try {
          const res = await fetch(`${metricsUrl}/metrics`, { signal: AbortSignal.timeout(scrapeTimeoutMs) });
          if (!res.ok) return { ...i, metricsUrl, samples: [], scrapeError: `HTTP ${res.status}` };
          return { ...i, metricsUrl, samples: parseMetrics(await res.text()) };
        } catch (e) {
          return { ...i, metricsUrl, samples: [], scrapeError: e instanceof Error ? e.message : String(e) };
        }
      }),
    ),
  };
}

/**
 * The last `keep` snapshots, one every `intervalMs` (the sparklines and rates are differences between
 * them). `refresh()` takes one now, at most one at a time.
 */
export class SnapshotHistory {
  readonly #snapshots: PlatformSnapshot[] = [];
  #running?: Promise<PlatformSnapshot>;
  #timer?: ReturnType<typeof setInterval>;

  constructor(
    private readonly take: () => Promise<PlatformSnapshot>,
    private readonly opts: { intervalMs: number; keep: number; onError?: (e: unknown) => void },
  ) {}

  start(): this {
    void this.refresh().catch((e) => this.opts.onError?.(e));
    this.#timer = setInterval(() => void this.refresh().catch((e) => this.opts.onError?.(e)), this.opts.intervalMs);
    return this;
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  get snapshots(): readonly PlatformSnapshot[] {
    return this.#snapshots;
  }

  /** The latest snapshot, taking one if none is younger than `maxAgeMs`. */
  async latest(maxAgeMs = this.opts.intervalMs * 2): Promise<PlatformSnapshot> {
    const last = this.#snapshots.at(-1);
    if (last && Date.now() - last.at <= maxAgeMs) return last;
    return this.refresh();
  }

  refresh(): Promise<PlatformSnapshot> {
    return (this.#running ??= this.take()
      .then((s) => {
        this.#snapshots.push(s);
        if (this.#snapshots.length > this.opts.keep) this.#snapshots.shift();
        return s;
      })
      .finally(() => (this.#running = undefined)));
  }
}
