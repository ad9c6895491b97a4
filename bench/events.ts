// Part 3: events end to end. The platform path: a transaction writes the event into the outbox
// (writeEvent) → the kit's relay publishes it to JetStream → a kit consumer (defineConsumer) handles
// it in a transaction with its inbox row. The raw path: publishEvent (the same message and CloudEvents
// headers) straight to JetStream → a pull consumer that acks. Both with 16 concurrent producers, in one
// process, each on streams of its own prefix (deleted after) and the platform on a schema of its own
// (dropped after). events/s from the first write to the last handled; lag = handled − written.
// Run: bun bench/events.ts   (BENCH_EVENTS to change the count)
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { join } from "node:path";
import pino from "pino";
import { openDatabase } from "../services/kit/db/database";
import { readEventMeta } from "../services/kit/events/cloud-event-headers";
import { defineConsumer, on } from "../services/kit/events/event-consumer";
import { eventsConfig } from "../services/kit/events/events-config";
import { PaymentProcessed } from "../services/kit/events/event-types";
import { writeEvent } from "../services/kit/events/outbox";
import { publishEvent } from "../services/kit/events/publish-event";
import { startEvents } from "../services/kit/events/start-events";
import { EventNames, ensureStreams, isNotFound } from "../services/kit/events/streams";
import { testSchemas } from "../services/kit/testing/test-database";
import * as paymentSchema from "../services/payment/db/schema";
import { percentile, round, Samples } from "./lib/load";
import { runId } from "./lib/processes";
import { markdownTable, progress, ratio, writeResult } from "./lib/report";

const PART = "events";
const NATS_URL = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
const EVENTS = Number(process.env.BENCH_EVENTS ?? 3000);
const PRODUCERS = 16;
const TIMEOUT_MS = 90_000;
const event = (i: number) => ({ paymentId: crypto.randomUUID(), orderId: crypto.randomUUID(), amount: { amountMinor: BigInt(1000 + i), currency: "EUR" } });

interface Flow {
  events: number;
  seconds: number;
  eventsPerSecond: number;
  /** Events the producers got acknowledged per second (committed to the outbox, or acked by JetStream): the producing side alone. */
  producedPerSecond: number;
  lagP50Ms: number;
  lagP99Ms: number;
}

/** Produces EVENTS events from PRODUCERS loops and resolves once every one was handled. */
async function measure(produce: (i: number) => Promise<string>, written: Map<string, number>, handled: { done: Promise<void> }, lags: Samples): Promise<Flow> {
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: PRODUCERS }, async () => {
      while (next < EVENTS) {
        const i = next++;
        const t0 = performance.now();
        const id = await produce(i);
        // Lag from the start of the write: the consumer may see it before produce() returns.
        if (!written.has(id)) written.set(id, t0);
      }
    }),
  );
  const producedSeconds = (performance.now() - started) / 1000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([handled.done, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`not every event was handled within ${TIMEOUT_MS} ms`)), TIMEOUT_MS)))]).finally(() => clearTimeout(timer));
  const seconds = (performance.now() - started) / 1000;
  const sorted = lags.sorted();
  return { events: EVENTS, seconds: round(seconds, 2), eventsPerSecond: Math.round(EVENTS / seconds), producedPerSecond: Math.round(EVENTS / producedSeconds), lagP50Ms: round(percentile(sorted, 50), 2), lagP99Ms: round(percentile(sorted, 99), 2) };
}

/** Counts handled events (once each) and records their lag; `done` resolves at EVENTS. */
function tracker(written: Map<string, number>, lags: Samples) {
  const seen = new Set<string>();
  let resolve!: () => void;
  const done = new Promise<void>((r) => (resolve = r));
  return {
    done,
    handled(id: string) {
      if (seen.has(id)) return;
      seen.add(id);
      const t0 = written.get(id);
      // Handled before its producer returned: its write began no later than now.
      lags.add(t0 === undefined ? 0 : performance.now() - t0);
      if (seen.size >= EVENTS) resolve();
    },
  };
}

async function rawFlow(): Promise<Flow> {
  const names = new EventNames(runId("braw"));
  const nc = await connect({ servers: NATS_URL.split(",") });
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const log = pino({ level: "silent" });
  try {
    await ensureStreams(jsm, names, eventsConfig({ EVENTS_PREFIX: names.prefix }), log);
    const stream = names.stream("PAYMENTS");
    await jsm.consumers.add(stream, { durable_name: "bench-raw", ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, filter_subject: names.subject("payments.>") });
    const written = new Map<string, number>();
    const lags = new Samples();
    const t = tracker(written, lags);
    const messages = await (await js.consumers.get(stream, "bench-raw")).consume();
    void (async () => {
      for await (const m of messages) {
        const meta = readEventMeta(m.headers);
        m.ack();
        if ("id" in meta) t.handled(meta.id);
      }
    })();
    const flow = await measure(async (i) => (await publishEvent(js, names, PaymentProcessed, event(i), { source: "/bench/raw" })).id, written, t, lags);
    messages.stop();
    return flow;
  } finally {
    for (const s of names.allStreams) await jsm.streams.delete(s).catch((e) => (isNotFound(e) ? undefined : Promise.reject(e)));
    await nc.close();
  }
}

async function outboxFlow(): Promise<Flow> {
  const prefix = runId("bobx");
  const schemas = testSchemas();
  const env = { ...schemas.env("payment"), EVENTS_PREFIX: prefix, NATS_URL };
  const nc = await connect({ servers: NATS_URL.split(",") });
  const log = pino({ level: "silent" });
  const database = await openDatabase({ service: "payment", env, log, schema: paymentSchema, migrationsFolder: join(import.meta.dir, "../services/payment/db/migrations") });
  const written = new Map<string, number>();
  const lags = new Samples();
  const t = tracker(written, lags);
  const consumer = defineConsumer({ name: "bench-events", stream: "PAYMENTS", handlers: [on(PaymentProcessed, async (_e, { meta }) => void t.handled(meta.id))] });
  // The handler runs inside the inbox transaction: count it only once that committed.
  const events = await startEvents({ service: "payment", env, log, nats: nc, database, outbox: true, consumers: [consumer] });
  try {
    return await measure((i) => database.db.transaction((tx) => writeEvent(tx, PaymentProcessed, event(i))), written, t, lags);
  } finally {
    await events?.stop();
    await database.close();
    const jsm = await jetstreamManager(nc);
    for (const s of new EventNames(prefix).allStreams) await jsm.streams.delete(s).catch((e) => (isNotFound(e) ? undefined : Promise.reject(e)));
    await nc.close();
    await schemas.drop();
  }
}

export async function runEventsBench() {
  progress(PART, `raw JetStream: ${EVENTS} events, ${PRODUCERS} publishers`);
  const raw = await rawFlow();
  progress(PART, `raw: ${raw.eventsPerSecond} events/s, lag p50 ${raw.lagP50Ms} ms, p99 ${raw.lagP99Ms} ms`);
  progress(PART, `outbox → JetStream → kit consumer: ${EVENTS} events, ${PRODUCERS} writers`);
  const outbox = await outboxFlow();
  progress(PART, `outbox: ${outbox.eventsPerSecond} events/s (${outbox.producedPerSecond}/s written), lag p50 ${outbox.lagP50Ms} ms, p99 ${outbox.lagP99Ms} ms`);
  const ratios = { outboxOverRaw: ratio(outbox.eventsPerSecond, raw.eventsPerSecond) };
  const table = markdownTable(
    [`events, ${EVENTS} × PaymentProcessed, ${PRODUCERS} producers`, "events/s end to end", "produced/s", "lag p50 ms", "lag p99 ms", "× raw"],
    [
      ["platform: outbox (tx) → relay → JetStream → kit consumer (inbox tx)", outbox.eventsPerSecond, outbox.producedPerSecond, outbox.lagP50Ms, outbox.lagP99Ms, ratios.outboxOverRaw],
      ["raw JetStream: publish (awaited ack) → pull consumer, ack", raw.eventsPerSecond, raw.producedPerSecond, raw.lagP50Ms, raw.lagP99Ms, 1],
    ],
  );
  writeResult(PART, { events: EVENTS, producers: PRODUCERS, results: { outbox, raw }, ratios }, table);
  return { outbox, raw, ratios };
}

if (import.meta.main) await runEventsBench();
