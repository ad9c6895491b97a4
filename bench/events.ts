// Part 3: events end to end, laid out as a deployment runs them: the publishing side in this process,
// the consuming side in a process of its own.
// - platform: a transaction writes the event into the outbox (writeEvent) → the kit's relay publishes it
//   to JetStream (here, as in the payment service) → a kit consumer (defineConsumer) handles it in a
//   transaction with its inbox row (in the consumer process, on a schema of its own, as the order
//   service does);
// - platform, batched: the same, with the consumer handling up to BATCH events of different entities in
//   one inbox transaction (defineConsumer's `batch`, which the marketing consumers use);
// - the producing transactions alone: the same transactions writing the outbox, with no relay and no
//   consumer, the Postgres part of the platform's cost (its limit on this machine);
// - raw JetStream: publishEvent (the same message and CloudEvents headers, awaited ack) → a pull
//   consumer that acks (in the consumer process).
// All with 16 concurrent producers, on streams of their own prefix (deleted after), the platform on
// schemas of its own (dropped after). The machine is shared and its speed drifts, so the flows take
// turns: after a warm-up, ROUNDS rounds of EVENTS/ROUNDS events each, each round starting with another flow.
// events/s = events / time from the first write to the last handled, over all rounds; lag = handled −
// write started. The consumer process reports what it handled over core NATS, in small batches.
// CPU per event is each process's CPU time (and, where this machine runs the Postgres server, that of
// the Postgres backends serving each side) divided by the events: what an event costs, wherever it runs.
// With OTEL_EXPORTER_OTLP_ENDPOINT (and the other OTEL_* variables) set, both sides trace as a service does.
// Run: bun bench/events.ts   (BENCH_EVENTS, BENCH_ROUNDS to change the counts, BENCH_EVENTS_BATCH the batching
// consumer's batch; BENCH_EVENTS_PROFILE_DIR=dir writes each consumer process's --cpu-prof profile under dir/<flow>/)
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { join } from "node:path";
import pino from "pino";
import { afterCommit, openDatabase } from "../services/kit/db";
import {
  readEventMeta,
  defineConsumer,
  on,
  eventsConfig,
  writeEvent,
  publishEvent,
  startEvents,
  deleteStreams,
  EventNames,
  ensureStreams,
} from "../services/kit/events";
import { PaymentProcessed, PAYMENTS } from "../services/payment/contract/events";
import { testSchemas, type TestSchemas } from "../services/kit/testing";
import * as orderSchema from "../services/order/db/schema";
import * as paymentSchema from "../services/payment/db/schema";
import { startTracing } from "../services/kit/tracing";
import { processCpuMs } from "./lib/cpu";
import { percentile, round, Samples } from "./lib/load";
import { runId, spawnProcess, type BenchProcess } from "./lib/processes";
import { markdownTable, progress, ratio, writeResult } from "./lib/report";

const PART = "events";
const NATS_URL = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
const EVENTS = Number(process.env.BENCH_EVENTS ?? 12000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WARMUP = 200;
const PRODUCERS = 16;
const BATCH = Number(process.env.BENCH_EVENTS_BATCH ?? 32);
const ROUND_TIMEOUT_MS = 60_000;
const event = (i: number) => ({
  paymentId: crypto.randomUUID(),
  orderId: crypto.randomUUID(),
  amount: { amountMinor: BigInt(1000 + i), currency: "EUR" },
});
/** Wall-clock milliseconds with sub-millisecond resolution; the consumer process's are lined up with these by clockOffset. */
const now = () => performance.timeOrigin + performance.now();
const silent = pino({ level: "silent" });

// ── the consumer process ────────────────────────────────────────────────────────────────────────────

/** Runs one flow's consuming side until SIGTERM: BENCH_EVENTS_ROLE is "raw", "platform" or "batched". */
async function consumerProcess(role: string) {
  const env = process.env as Record<string, string>;
  const nc = await connect({ servers: NATS_URL.split(",") });
  const subject = env.BENCH_REPORT_SUBJECT!;
  // [event id, handled at] pairs, sent every few milliseconds: reporting costs both flows the same, and little.
  let batch: [string, number][] = [];
  const flush = () => {
    if (batch.length) nc.publish(subject, JSON.stringify(batch));
    batch = [];
  };
  const flusher = setInterval(flush, 5);
  const handled = (id: string) => void batch.push([id, now()]);
  // The bench asks for this process's CPU time at the start and end of each round.
  nc.subscribe(`${subject}.cpu`, { callback: (_e, m) => void m.respond(JSON.stringify(process.cpuUsage())) });
  // And for its clock, to line it up with its own (see clockOffset).
  nc.subscribe(`${subject}.clock`, { callback: (_e, m) => void m.respond(JSON.stringify(now())) });
  const names = new EventNames(env.EVENTS_PREFIX!);
  let stop: () => Promise<void>;
  if (role === "raw") {
    const js = jetstream(nc);
    const messages = await (await js.consumers.get(names.stream("PAYMENTS"), "bench-raw")).consume();
    void (async () => {
      for await (const m of messages) {
        const meta = readEventMeta(m.headers);
        m.ack();
        if ("id" in meta) handled(meta.id);
      }
    })();
    stop = async () => void messages.stop();
  } else {
    // The consuming service's own database (the order service's schema: it consumes payments.*).
    const database = await openDatabase({
      service: "order",
      env,
      log: silent,
      schema: orderSchema,
      migrationsFolder: join(import.meta.dir, "../services/order/db/migrations"),
    });
    // The handler runs inside the inbox transaction: reported once that committed.
    const handler = on(PaymentProcessed, async (_e, { tx, meta }) => void afterCommit(tx, () => handled(meta.id)));
    const consumer = defineConsumer({
      name: "bench-events",
      stream: PAYMENTS,
      handlers: [handler],
      batch: role === "batched" ? BATCH : undefined,
    });
    const events = await startEvents({
      service: "order",
      env,
      log: silent,
      nats: nc,
      database,
      namespace: "shop",
      consumers: [consumer],
    });
    stop = async () => {
      await events?.stop();
      await database.close();
    };
  }
  console.log(JSON.stringify({ ready: true }));
  process.once("SIGTERM", async () => {
    await stop();
    clearInterval(flusher);
    flush();
    await nc.drain();
    process.exit(0);
  });
}

// ── the bench ───────────────────────────────────────────────────────────────────────────────────────

type Role = "raw" | "platform" | "batched" | "transactions";

interface Round {
  events: number;
  /** From the first write to the last event handled. */
  seconds: number;
  /** From the first write to the last producer's answer. */
  producedSeconds: number;
  lags: Samples;
  /** CPU seconds spent in the round, per process (and Postgres backends, where readable). */
  cpu: Record<string, number>;
}

interface Flow {
  /** Produces `n` events from PRODUCERS loops and resolves once every one was handled. */
  round(n: number): Promise<Round>;
  close(): Promise<void>;
}

/** Starts this file as a flow's consuming process; `onHandled` gets what it reports. */
async function startConsumer(
  nc: NatsConnection,
  role: Role,
  env: Record<string, string>,
  onHandled: (id: string, at: number) => void,
) {
  const subject = `bench.${runId("report")}`;
  let offset = 0;
  const sub = nc.subscribe(subject, {
    callback: (err, msg) => {
      if (!err) for (const [id, at] of msg.json<[string, number][]>()) onHandled(id, at - offset);
    },
  });
  await nc.flush();
  const profileDir = process.env.BENCH_EVENTS_PROFILE_DIR;
  const proc: BenchProcess = await spawnProcess(`${role} consumer`, import.meta.path, {
    args: profileDir ? ["--cpu-prof", "--cpu-prof-dir", join(profileDir, role)] : [],
    env: { ...env, BENCH_EVENTS_ROLE: role, BENCH_REPORT_SUBJECT: subject, NATS_URL },
    isReady: (l) => l.ready === true,
    timeoutMs: 60_000,
  });
  offset = await clockOffset(nc, `${subject}.clock`);
  if (Math.abs(offset) > 1)
    progress(
      PART,
      `the ${role} consumer's clock is ${offset.toFixed(1)} ms off this process's: its times are corrected`,
    );
  return {
    /** The consumer process's CPU seconds so far. */
    async cpuSeconds() {
      const { user, system } = (await nc.request(`${subject}.cpu`, "", { timeout: 5000 })).json<{
        user: number;
        system: number;
      }>();
      return (user + system) / 1e6;
    },
    async stop() {
      await proc.stop();
      sub.unsubscribe();
    },
  };
}

/**
 * How far the consumer process's clock runs ahead of this one's, in ms. Both read the wall clock's
 * origin once, when they start (performance.timeOrigin); when the machine's clock is stepped in between
 * (a VM syncing its time), they disagree by as much, seen here as seconds of lag. Read as the answer
 * with the shortest round trip of a few, against the middle of that round trip.
 */
async function clockOffset(nc: NatsConnection, subject: string): Promise<number> {
  let best = { rtt: Infinity, offset: 0 };
  for (let i = 0; i < 7; i++) {
    const sent = now();
    const theirs = (await nc.request(subject, "", { timeout: 5000 })).json<number>();
    const back = now();
    if (back - sent < best.rtt) best = { rtt: back - sent, offset: theirs - (sent + back) / 2 };
  }
  return best.offset;
}

/**
 * CPU seconds so far of the Postgres backends whose application_name is `app`, when the server runs on
 * this machine (its processes readable under /proc); undefined when not.
 */
async function backendCpuSeconds(schemas: TestSchemas, app: string): Promise<number | undefined> {
  const rows = await schemas.sql<{ pid: number }[]>`select pid from pg_stat_activity where application_name = ${app}`;
  let total = 0;
  for (const { pid } of rows) {
    const ms = processCpuMs(pid);
    if (Number.isNaN(ms)) return undefined;
    total += ms / 1000;
  }
  return rows.length ? total : undefined;
}

/**
 * Runs rounds of a flow: `produce(i, id)` writes event `id`; `handled` is fed what the consumer
 * reported; `cpu()` reads the CPU counters that matter to this flow. Without a consumer (`consumed`
 * false) a round ends with its last write.
 */
function rounds(
  produce: (i: number, id: string) => Promise<unknown>,
  cpu: () => Promise<Record<string, number | undefined>>,
  consumed = true,
) {
  let expected = new Map<string, number>();
  let remaining = 0;
  let lags = new Samples();
  let lastAt = 0;
  let allHandled: () => void = () => {};
  const handled = (id: string, at: number) => {
    const t0 = expected.get(id);
    // Not of this round (a redelivery of an earlier one), or seen already.
    if (t0 === undefined) return;
    expected.delete(id);
    lags.add(Math.max(0, at - t0));
    lastAt = Math.max(lastAt, at);
    if (--remaining === 0) allHandled();
  };
  const round = async (n: number): Promise<Round> => {
    expected = new Map();
    remaining = n;
    lags = new Samples();
    const done = new Promise<void>((resolve) => (allHandled = resolve));
    const cpuBefore = await cpu();
    const started = now();
    let next = 0;
    await Promise.all(
      Array.from({ length: PRODUCERS }, async () => {
        while (next < n) {
          const i = next++;
          const id = crypto.randomUUID();
          // Lag from the start of the write: the consumer may see it before produce() returns.
          expected.set(id, now());
          await produce(i, id);
        }
      }),
    );
    const producedSeconds = (now() - started) / 1000;
    if (!consumed) {
      lastAt = now();
      allHandled();
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>(
      (_, reject) =>
        (timer = setTimeout(
          () => reject(new Error(`${remaining} of ${n} events not handled within ${ROUND_TIMEOUT_MS} ms`)),
          ROUND_TIMEOUT_MS,
        )),
    );
    await Promise.race([done, timeout]).finally(() => clearTimeout(timer));
    const seconds = (lastAt - started) / 1000;
    const cpuAfter = await cpu();
    const spent: Record<string, number> = {};
    for (const [k, after] of Object.entries(cpuAfter))
      if (after !== undefined && cpuBefore[k] !== undefined) spent[k] = after - cpuBefore[k]!;
    return { events: n, seconds, producedSeconds, lags, cpu: spent };
  };
  return { handled, round };
}

const processCpuSeconds = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};

async function rawFlow(): Promise<Flow> {
  const names = new EventNames(runId("braw"));
  const nc = await connect({ servers: NATS_URL.split(",") });
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  let consumer: Awaited<ReturnType<typeof startConsumer>> | undefined;
  const close = async () => {
    await consumer?.stop();
    await deleteStreams(jsm, names);
    await nc.close();
  };
  try {
    await ensureStreams(jsm, names, eventsConfig({ EVENTS_PREFIX: names.prefix }), silent, [PAYMENTS]);
    await jsm.consumers.add(names.stream("PAYMENTS"), {
      durable_name: "bench-raw",
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: names.subject("payments.>"),
    });
    const flow = rounds(
      (i, id) => publishEvent(js, names, PaymentProcessed, event(i), { source: "/bench/raw", id }),
      async () => ({ producer: processCpuSeconds(), consumer: await consumer!.cpuSeconds() }),
    );
    consumer = await startConsumer(nc, "raw", { EVENTS_PREFIX: names.prefix }, flow.handled);
    return { round: flow.round, close };
  } catch (e) {
    await close();
    throw e;
  }
}

async function platformFlow(role: "platform" | "batched" | "transactions"): Promise<Flow> {
  const prefix = runId({ platform: "bobx", batched: "bbat", transactions: "btxn" }[role]);
  const schemas = testSchemas();
  // Names for the Postgres backends of each side, to read their CPU time.
  const apps = { producer: `${prefix}-producer`, consumer: `${prefix}-consumer` };
  const env = { ...schemas.env("payment"), EVENTS_PREFIX: prefix, NATS_URL, PGAPPNAME: apps.producer };
  const nc = await connect({ servers: NATS_URL.split(",") });
  let consumer: Awaited<ReturnType<typeof startConsumer>> | undefined;
  let events: Awaited<ReturnType<typeof startEvents>>;
  let database: Awaited<ReturnType<typeof openDatabase>> | undefined;
  const close = async () => {
    await consumer?.stop();
    await events?.stop();
    await database?.close();
    await deleteStreams(await jetstreamManager(nc), new EventNames(prefix));
    await nc.close();
    await schemas.drop();
  };
  try {
    // The publishing service: its database (with the outbox) and its relay. postgres.js names its
    // connections from PGAPPNAME when it opens the pool.
    const appName = process.env.PGAPPNAME;
    process.env.PGAPPNAME = apps.producer;
    try {
      database = await openDatabase({
        service: "payment",
        env,
        log: silent,
        schema: paymentSchema,
        migrationsFolder: join(import.meta.dir, "../services/payment/db/migrations"),
      });
    } finally {
      if (appName === undefined) delete process.env.PGAPPNAME;
      else process.env.PGAPPNAME = appName;
    }
    const db = database.db;
    const write = (i: number, id: string) => db.transaction((tx) => writeEvent(tx, PaymentProcessed, event(i), { id }));
    if (role === "transactions") {
      const flow = rounds(
        write,
        async () => ({
          producer: processCpuSeconds(),
          producerPostgres: await backendCpuSeconds(schemas, apps.producer),
        }),
        false,
      );
      return { round: flow.round, close };
    }
    events = await startEvents({
      service: "payment",
      env,
      log: silent,
      nats: nc,
      namespace: "shop",
      database,
      outbox: { streams: [PAYMENTS] },
      consumers: [],
    });
    const flow = rounds(write, async () => ({
      producer: processCpuSeconds(),
      producerPostgres: await backendCpuSeconds(schemas, apps.producer),
      consumer: await consumer!.cpuSeconds(),
      consumerPostgres: await backendCpuSeconds(schemas, apps.consumer),
    }));
    consumer = await startConsumer(
      nc,
      role,
      { ...schemas.env("order"), EVENTS_PREFIX: prefix, PGAPPNAME: apps.consumer },
      flow.handled,
    );
    return { round: flow.round, close };
  } catch (e) {
    await close();
    throw e;
  }
}

interface Totals {
  events: number;
  seconds: number;
  eventsPerSecond: number;
  /** Events the producers got acknowledged per second (committed to the outbox, or acked by JetStream): the producing side alone. */
  producedPerSecond: number;
  lagP50Ms: number;
  lagP99Ms: number;
  /** CPU milliseconds per event, by where it was spent. */
  cpuMsPerEvent: Record<string, number>;
  /** events/s of each round. */
  roundsPerSecond: number[];
}

function totals(rs: Round[]): Totals {
  const events = rs.reduce((a, r) => a + r.events, 0);
  const seconds = rs.reduce((a, r) => a + r.seconds, 0);
  const produced = rs.reduce((a, r) => a + r.producedSeconds, 0);
  const lags = new Samples();
  for (const r of rs) lags.merge(r.lags);
  const sorted = lags.sorted();
  const cpu: Record<string, number> = {};
  for (const k of Object.keys(rs[0]!.cpu))
    if (rs.every((r) => k in r.cpu)) cpu[k] = round((1000 * rs.reduce((a, r) => a + r.cpu[k]!, 0)) / events, 3);
  return {
    events,
    seconds: round(seconds, 2),
    eventsPerSecond: Math.round(events / seconds),
    producedPerSecond: Math.round(events / produced),
    lagP50Ms: round(percentile(sorted, 50), 2),
    lagP99Ms: round(percentile(sorted, 99), 2),
    cpuMsPerEvent: cpu,
    roundsPerSecond: rs.map((r) => Math.round(r.events / r.seconds)),
  };
}

export async function runEventsBench() {
  const perRound = Math.ceil(EVENTS / ROUNDS);
  const roles: Role[] = ["raw", "platform", "batched", "transactions"];
  progress(
    PART,
    `raw JetStream, outbox → JetStream → kit consumer, the same with a batching consumer (${BATCH}), and the outbox transactions alone; ${PRODUCERS} producers, consumers in processes of their own: warm-up ${WARMUP}, then ${ROUNDS} rounds of ${perRound} events each, taking turns`,
  );
  const flows = new Map<Role, Flow>();
  const results: Record<Role, Round[]> = { raw: [], platform: [], batched: [], transactions: [] };
  try {
    flows.set("raw", await rawFlow());
    flows.set("platform", await platformFlow("platform"));
    flows.set("batched", await platformFlow("batched"));
    flows.set("transactions", await platformFlow("transactions"));
    for (const role of roles) await flows.get(role)!.round(WARMUP);
    for (let r = 0; r < ROUNDS; r++) {
      // Each round starts with a different flow: none always runs on a machine the others just warmed.
      for (const role of [...roles.slice(r % roles.length), ...roles.slice(0, r % roles.length)]) {
        const result = await flows.get(role)!.round(perRound);
        results[role].push(result);
        progress(
          PART,
          `round ${r + 1} ${role}: ${Math.round(result.events / result.seconds)} events/s (${Math.round(result.events / result.producedSeconds)}/s produced)`,
        );
      }
    }
  } finally {
    for (const flow of flows.values()) await flow.close();
  }
  const rawTotals = totals(results.raw);
  const outbox = totals(results.platform);
  const batched = totals(results.batched);
  const transactions = totals(results.transactions);
  const byRound = (role: Role) =>
    results[role].map((p, i) => ratio(p.events / p.seconds, results.raw[i]!.events / results.raw[i]!.seconds));
  const ratios = {
    outboxOverRaw: ratio(outbox.eventsPerSecond, rawTotals.eventsPerSecond),
    batchedOverRaw: ratio(batched.eventsPerSecond, rawTotals.eventsPerSecond),
    transactionsOverRaw: ratio(transactions.eventsPerSecond, rawTotals.eventsPerSecond),
    batchedOverTransactions: ratio(batched.eventsPerSecond, transactions.eventsPerSecond),
    byRound: byRound("platform"),
    batchedByRound: byRound("batched"),
  };
  const cpuCell = (c: Record<string, number>) =>
    Object.entries(c)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ");
  const lag = (ms: number) => (Number.isNaN(ms) ? "—" : ms);
  const row = (label: string, t: Totals, x: number) => [
    label,
    t.eventsPerSecond,
    t.producedPerSecond,
    lag(t.lagP50Ms),
    lag(t.lagP99Ms),
    cpuCell(t.cpuMsPerEvent),
    x,
  ];
  const table = markdownTable(
    [
      `events, ${rawTotals.events} × PaymentProcessed, ${PRODUCERS} producers, consumer in its own process`,
      "events/s end to end",
      "produced/s",
      "lag p50 ms",
      "lag p99 ms",
      "CPU ms per event",
      "× raw",
    ],
    [
      row(
        "platform: outbox (tx) → relay → JetStream → kit consumer (inbox tx per event)",
        outbox,
        ratios.outboxOverRaw,
      ),
      row(`platform, batching consumer: the same, up to ${BATCH} events per inbox tx`, batched, ratios.batchedOverRaw),
      row(
        "the outbox transactions alone (no relay, no consumer): the Postgres limit of the producing side",
        transactions,
        ratios.transactionsOverRaw,
      ),
      row("raw JetStream: publish (awaited ack) → pull consumer, ack", rawTotals, 1),
    ],
  );
  writeResult(
    PART,
    {
      events: rawTotals.events,
      rounds: ROUNDS,
      producers: PRODUCERS,
      batch: BATCH,
      layout: "producers (and the relay) in the bench process, the consumer in a process of its own",
      results: { outbox, batched, transactions, raw: rawTotals },
      ratios,
    },
    table,
  );
  return { outbox, batched, transactions, raw: rawTotals, ratios };
}

if (import.meta.main) {
  const role = process.env.BENCH_EVENTS_ROLE;
  // Traced as a service would be when OTEL_EXPORTER_OTLP_ENDPOINT is set (what tracing costs per event):
  // both sides, as each side's process is.
  const tracing = startTracing({
    service: role ? "bench-consumer" : "bench-producer",
    version: "0",
    instanceId: String(process.pid),
    env: process.env as Record<string, string>,
    log: silent,
  });
  if (role) await consumerProcess(role);
  else {
    await runEventsBench();
    await tracing.stop();
  }
}
