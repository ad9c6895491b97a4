import type { JetStreamManager } from "@nats-io/jetstream";
import { DeadLetters, type EventNames, type EventStream } from "../../kit/events";
import { callMatrix, type CallEdge } from "../platform/call-matrix";
import { letterDetail, letterSummary, type LetterDetail, type LetterSummary } from "../../kit/events";
import { eventStreams, type StreamView } from "../platform/event-streams";
import type { SnapshotHistory } from "../platform/platform-snapshot";
import type { PolicyStore, TargetPolicy } from "../platform/policies";
import { servicesView, type ServicesView } from "../platform/services-view";
import type { TraceQuery, TraceStore, TraceSummary } from "../traces/trace-store";
import { orderTimeline, waterfall, type TimelineStep, type Waterfall } from "../traces/waterfall";

export interface ServicesPage extends ServicesView {
  /** Per target: the policy settings in force and each caller's breaker on it. */
  targets: (TargetPolicy & { breakers: ServicesView["instances"][number]["breakers"] })[];
}

export interface EventsPage {
  streams: StreamView[];
  /** Published per service (outbox_published_total); the backlog itself lives in each service's database. */
  outbox: { service: string; published: number }[];
  outboxNote: string;
}

export interface OrderPage {
  orderId: string;
  traces: TraceSummary[];
  timeline: TimelineStep[];
}

export type ReplayOutcome =
  | { outcome: "resolved"; letter: LetterSummary }
  | { outcome: "failed again"; letter: LetterSummary; again: LetterSummary }
  | { outcome: "not handled yet"; letter: LetterSummary };

/** What every page of the console shows and does, from the bus, the instances and the traces it holds. */
export class ConsoleData {
  constructor(
    private readonly deps: {
      history: SnapshotHistory;
      traces: TraceStore;
      policies: PolicyStore;
      jsm: JetStreamManager;
      deadLetters: DeadLetters;
      names: EventNames;
      streams: readonly EventStream[];
      /** The services others call (the platform's table): each has policies, edited or not. */
      targets: readonly string[];
      replayWaitMs: number;
    },
  ) {}

  async services(): Promise<ServicesPage> {
    await this.deps.history.latest();
    const view = servicesView(this.deps.history.snapshots);
    const breakers = view.instances.flatMap((i) => i.breakers);
    const targets = [...new Set([...this.deps.targets, ...breakers.map((b) => b.target)])].sort();
    return {
      ...view,
      targets: await Promise.all(
        targets.map(async (t) => ({
          ...(await this.deps.policies.get(t)),
          breakers: breakers.filter((b) => b.target === t),
        })),
      ),
    };
  }

  async calls(): Promise<{ at: string; edges: CallEdge[] }> {
    const last = await this.deps.history.latest();
    return {
      at: new Date(last.at).toISOString(),
      edges: callMatrix(this.deps.history.snapshots, this.deps.traces.allSpans()),
    };
  }

  traces(q: TraceQuery): { kept: number; traces: TraceSummary[] } {
    return { kept: this.deps.traces.size, traces: this.deps.traces.search(q) };
  }

  trace(traceId: string): Waterfall | undefined {
    const t = this.deps.traces.get(traceId);
    return t && waterfall(t.traceId, t.spans);
  }

  order(orderId: string): OrderPage {
    const traces = this.deps.traces.search({ orderId, limit: 200 });
    return {
      orderId,
      traces,
      timeline: orderTimeline(traces.map((s) => this.deps.traces.get(s.traceId)!)),
    };
  }

  async events(): Promise<EventsPage> {
    const last = await this.deps.history.latest();
    const published = new Map<string, number>();
    for (const i of last.instances)
      for (const s of i.samples)
        if (s.name === "outbox_published_total") published.set(i.name, (published.get(i.name) ?? 0) + s.value);
    return {
      streams: await eventStreams(this.deps.jsm, this.deps.names, this.deps.streams),
      outbox: [...published]
        .map(([service, n]) => ({ service, published: n }))
        .sort((a, b) => a.service.localeCompare(b.service)),
      outboxNote:
        "Rows not yet published sit in each service's own database (its outbox table), which the console does not read; published counts come from each instance's outbox_published_total.",
    };
  }

  async deadLetters(): Promise<LetterSummary[]> {
    return (await this.#letters()).map(letterSummary);
  }

  async deadLetter(id: number): Promise<LetterDetail | undefined> {
    const l = await this.deps.deadLetters.get(id).catch(() => undefined);
    return l && letterDetail(l, this.deps.streams);
  }

  /** Replays one to its consumer and waits a while for it to be handled, as `cli dlq replay` does. */
  async replay(id: number): Promise<ReplayOutcome | undefined> {
    const letter = await this.deps.deadLetters.get(id).catch(() => undefined);
    if (!letter) return undefined;
    await this.deps.deadLetters.replay(id);
    const summary = letterSummary(letter);
    const deadline = Date.now() + this.deps.replayWaitMs;
    while (Date.now() < deadline) {
      if (!(await this.deps.deadLetters.get(id).catch(() => undefined))) {
        const again = (await this.#letters()).find(
          (l) => l.id > id && l.consumer === letter.consumer && l.eventId === letter.eventId,
        );
        return again
          ? { outcome: "failed again", letter: summary, again: letterSummary(again) }
          : { outcome: "resolved", letter: summary };
      }
      await Bun.sleep(100);
    }
    return { outcome: "not handled yet", letter: summary };
  }

  /** Removes one dead letter (false: not there), or every one (how many). */
  purge(id?: number): Promise<boolean | number> {
    return id === undefined ? this.deps.deadLetters.purge() : this.deps.deadLetters.resolve(id);
  }

  policy(target: string): Promise<TargetPolicy> {
    return this.deps.policies.get(target);
  }

  setPolicy(target: string, json: string) {
    return this.deps.policies.set(target, json);
  }

  deletePolicy(target: string) {
    return this.deps.policies.delete(target);
  }

  async #letters() {
    try {
      return await this.deps.deadLetters.list();
    } catch (e) {
      // No DLQ stream yet: no service of this platform has started its events.
      if (/stream not found/i.test(String(e))) return [];
      throw e;
    }
  }
}
