// A batching consumer on the real JetStream and Postgres: events of different entities share
// transactions, each is handled once, and one event's failure neither loses nor repeats its batch-mates.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { sql } from "drizzle-orm";
import { join } from "node:path";
import pino from "pino";
import { Registry, type Histogram } from "prom-client";
import { afterCommit } from "../../db/after-commit";
import { openDatabase, type OpenDatabase } from "../../db/database";
import { testSchemas, type TestSchemas } from "../../testing/test-database";
import { waitFor } from "../../testing/service-process";
import * as marketingSchema from "../../../marketing/db/schema";
import { eventHeaders } from "../cloud-event-headers";
import { defineConsumer, on, type EventConsumer } from "./event-consumer";
import { CustomerRegistered, CUSTOMERS } from "../../../customer/contract/events";
import { PaymentProcessed, PAYMENTS } from "../../../payment/contract/events";
import { PoisonMessage } from "./handler-failure";
import { publishEvent } from "../outbox/publish-event";
import { rowsOf } from "../outbox/rows";
import { startEvents, type RunningEvents } from "../start-events";
import { testEventStreams, type TestEventStreams } from "../../testing/test-streams";

const log = pino({ level: "silent" });
let ev: TestEventStreams;
let schemas: TestSchemas;
let database: OpenDatabase<typeof marketingSchema>;
const running: RunningEvents[] = [];

beforeAll(async () => {
  ev = await testEventStreams();
  await ev.ensure([PAYMENTS, CUSTOMERS]);
  schemas = testSchemas();
  // Any service schema with an inbox will do; marketing's is small.
  database = await openDatabase({
    service: "marketing",
    env: schemas.env("marketing"),
    log,
    schema: marketingSchema,
    migrationsFolder: join(import.meta.dir, "../../../marketing/db/migrations"),
  });
});

afterAll(async () => {
  for (const events of running) await events.stop();
  await database?.close();
  await ev?.drop();
  await schemas?.drop();
});

/** The kit's events for `consumer` over this file's database and streams (or `streams`), with `env` on top; stopped after the file if not before. */
async function consume(
  consumer: EventConsumer,
  {
    env = {},
    registry,
    streams = ev,
    logger = log,
  }: { env?: Record<string, string>; registry?: Registry; streams?: TestEventStreams; logger?: pino.Logger } = {},
) {
  const started = (await startEvents({
    service: "marketing",
    env: { ...schemas.env("marketing"), ...streams.env, ...env },
    log: logger,
    nats: streams.nc,
    registry,
    database,
    namespace: "shop",
    consumers: [consumer],
  }))!;
  let stopped: Promise<void> | undefined;
  const events: RunningEvents = { stop: () => (stopped ??= started.stop()) };
  running.push(events);
  return events;
}

const payment = (i: number) => ({
  paymentId: crypto.randomUUID(),
  orderId: crypto.randomUUID(),
  amount: { amountMinor: BigInt(i), currency: "EUR" },
});

test("a batching consumer: events share transactions, each is handled once, one event's failures cost its batch-mates nothing", async () => {
  const source = "/test/batches";
  const ids: string[] = [];
  for (let i = 0; i < 120; i++)
    ids.push(
      (await publishEvent(ev.js, ev.names, PaymentProcessed, payment(i), { source, entityId: `payment-${i}` })).id,
    );
  const failsOnce = ids[7]!;
  const poison = ids[50]!;
  // One event stored twice (published again under another Nats-Msg-Id), without an entity, so both
  // copies may land in one batch.
  const copied = crypto.randomUUID();
  const copiedPayload = toBinary(PaymentProcessed.schema, create(PaymentProcessed.schema, payment(999)));
  const copy = () =>
    ev.js.publish(ev.names.subject(PaymentProcessed.subject), copiedPayload, {
      headers: eventHeaders({
        id: copied,
        type: PaymentProcessed.type,
        source,
        time: new Date(),
        subject: "",
        traceparent: "",
      }),
      msgID: crypto.randomUUID(),
    });
  await copy();
  await copy();

  // Committed handlings (afterCommit: a rolled-back batch's don't count), with their transaction.
  const commits: { id: string; txid: string; delivery: number }[] = [];
  const consumer = defineConsumer({
    name: "test-batches",
    stream: PAYMENTS,
    batch: 16,
    handlers: [
      on(PaymentProcessed, async (_e, { tx, meta, deliveryCount }) => {
        const [row] = rowsOf<{ txid: string }>(await tx.execute(sql`select txid_current()::text as txid`));
        if (meta.id === poison) throw new PoisonMessage("never handled");
        if (meta.id === failsOnce && deliveryCount === 1) throw new Error("fails on its first delivery");
        afterCommit(tx, () => commits.push({ id: meta.id, txid: row!.txid, delivery: deliveryCount }));
      }),
    ],
  });
  // Started after the events are stored: the first pulls bring many at once.
  const registry = new Registry();
  await consume(consumer, { env: { CONSUMER_BACKOFF_MS: "100" }, registry });

  const expected = ids.filter((id) => id !== poison).concat(copied);
  await waitFor(() => expected.every((id) => commits.some((c) => c.id === id)), {
    timeoutMs: 15_000,
    what: "every event but the poison handled",
  });
  // Nothing left pending or unacknowledged: the poison was terminated, not left to come back.
  await waitFor(
    async () => {
      const info = await ev.jsm.consumers.info(ev.names.stream("PAYMENTS"), "test-batches");
      return info.num_pending === 0 && info.num_ack_pending === 0;
    },
    { timeoutMs: 10_000, what: "the consumer drained" },
  );

  const count = (id: string) => commits.filter((c) => c.id === id).length;
  expect(expected.filter((id) => count(id) !== 1)).toEqual([]);
  expect(count(poison)).toBe(0);
  // Batched: far fewer transactions than events.
  const transactions = new Set(commits.map((c) => c.txid));
  expect(transactions.size).toBeLessThan(commits.length / 4);
  // And the metric says so: batches of several events (the retries after a failure go alone, uncounted).
  const sizes = (await (registry.getSingleMetric("events_consumer_batch_events") as Histogram).get()).values;
  const batchCount = sizes.find((v) => v.metricName === "events_consumer_batch_events_count")!.value;
  const batchedEvents = sizes.find((v) => v.metricName === "events_consumer_batch_events_sum")!.value;
  expect(batchedEvents).toBeGreaterThanOrEqual(ids.length + 2);
  expect(batchCount).toBeLessThan(batchedEvents / 4);
  // The event that failed once came back on its second delivery; its batch-mates committed on their first.
  expect(commits.find((c) => c.id === failsOnce)!.delivery).toBe(2);
  expect(commits.filter((c) => c.id !== failsOnce && c.delivery !== 1)).toEqual([]);
  const inbox = await schemas.sql.unsafe<{ n: string }[]>(
    `select count(*)::text as n from "${schemas.schema("marketing")}".inbox where consumer = 'test-batches'`,
  );
  expect(Number(inbox[0]!.n)).toBe(expected.length);
});

test("a batch that takes longer than the ack wait (each event within it) is not redelivered meanwhile", async () => {
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) {
    const customer = { id: crypto.randomUUID(), email: `c${i}@example.com`, name: `C${i}` };
    ids.push(
      (
        await publishEvent(
          ev.js,
          ev.names,
          CustomerRegistered,
          { customer },
          { source: "/test/batches", entityId: customer.id },
        )
      ).id,
    );
  }
  const handled: string[] = [];
  // Each event's work stays within the ack wait, as for a consumer that does not batch; five in one
  // transaction take longer than it.
  const ackWaitMs = 500;
  const consumer = defineConsumer({
    name: "test-slow-batch",
    stream: CUSTOMERS,
    batch: 8,
    handlers: [
      on(CustomerRegistered, async (_e, { tx, meta }) => {
        await Bun.sleep(ackWaitMs * 0.6);
        afterCommit(tx, () => handled.push(meta.id));
      }),
    ],
  });
  await consume(consumer, { env: { CONSUMER_ACK_WAIT_MS: String(ackWaitMs) } });
  await waitFor(() => ids.every((id) => handled.includes(id)), {
    timeoutMs: 10_000,
    what: "the five registrations handled",
  });
  const info = await ev.jsm.consumers.info(ev.names.stream("CUSTOMERS"), "test-slow-batch");
  // Every delivery counts in the consumer's sequence, redeliveries too: five messages, five deliveries.
  expect(info.delivered.consumer_seq).toBe(5);
  expect(handled.sort()).toEqual([...ids].sort());
});

test("a batching consumer refuses handlers that run their own transactions, and a batch size out of range", () => {
  const own = on(PaymentProcessed, async () => {}, { ownTransactions: true });
  expect(() => defineConsumer({ name: "own", stream: PAYMENTS, batch: 8, handlers: [own] })).toThrow(
    /batches events in one transaction.*ownTransactions/,
  );
  expect(() => defineConsumer({ name: "single", stream: PAYMENTS, batch: 1, handlers: [own] })).not.toThrow();
  for (const batch of [0, 1.5, 1001])
    expect(() => defineConsumer({ name: "sized", stream: PAYMENTS, batch, handlers: [] })).toThrow(
      /batch must be an integer from 1 to 1000/,
    );
});

/** Streams of a test's own: a new durable consumer reads its stream from the start. */
async function ownStreams() {
  const own = await testEventStreams();
  await own.ensure([PAYMENTS, CUSTOMERS]);
  return own;
}

test("a reused event id with another payload, an event of an undeclared type, one on the wrong subject: dead letters with their reason; the same event again is a harmless duplicate", async () => {
  const ev = await ownStreams();
  const handled: string[] = [];
  const consumer = defineConsumer({
    name: "test-defences",
    stream: PAYMENTS,
    handlers: [on(PaymentProcessed, async (e) => void handled.push(e.paymentId))],
  });
  const registry = new Registry();
  const events = await consume(consumer, { registry, streams: ev });
  try {
    const source = "/test/defences";
    const publish = (id: string, type: string, subject: string, body: Uint8Array) =>
      ev.js.publish(ev.names.subject(subject), body, {
        headers: eventHeaders({ id, type, source, time: new Date(), subject: "", traceparent: "" }),
        msgID: crypto.randomUUID(),
      });
    const encode = (p: ReturnType<typeof payment>) =>
      toBinary(PaymentProcessed.schema, create(PaymentProcessed.schema, p));

    const id = crypto.randomUUID();
    const original = payment(1);
    await publish(id, PaymentProcessed.type, PaymentProcessed.subject, encode(original));
    await waitFor(() => handled.includes(original.paymentId), { what: "the original handled" });
    await publish(id, PaymentProcessed.type, PaymentProcessed.subject, encode(original)); // a redelivery, really
    const forged = payment(2);
    await publish(id, PaymentProcessed.type, PaymentProcessed.subject, encode(forged));
    await publish(crypto.randomUUID(), "shop.payment.v1.PaymentTeleported", "payments.teleported", encode(payment(3)));
    const misrouted = payment(4);
    await publish(crypto.randomUUID(), PaymentProcessed.type, "payments.failed", encode(misrouted));

    const letters = await waitFor(
      async () => {
        const all = (await ev.deadLetters.list()).filter((l) => l.consumer === "test-defences");
        return all.length >= 3 ? all : undefined;
      },
      { timeoutMs: 10_000, what: "three dead letters" },
    );
    const reasons = letters.map((l) => l.reason);
    expect(reasons).toContainEqual(expect.stringContaining(`${id} was handled before with another payload`));
    expect(reasons).toContainEqual(expect.stringContaining("unknown event type shop.payment.v1.PaymentTeleported"));
    expect(reasons).toContainEqual(
      expect.stringContaining(`shop.payment.v1.PaymentProcessed arrived on ${ev.names.subject("payments.failed")}`),
    );
    expect(handled).toEqual([original.paymentId]);
    const outcomes = await (
      registry.getSingleMetric("events_consumed_total") as unknown as {
        get(): Promise<{ values: { labels: Record<string, string>; value: number }[] }>;
      }
    ).get();
    const of = (outcome: string) =>
      outcomes.values
        .filter((v) => v.labels.consumer === "test-defences" && v.labels.outcome === outcome)
        .reduce((n, v) => n + v.value, 0);
    expect(of("duplicate")).toBe(1);
    expect(of("poison")).toBe(3);
  } finally {
    await events.stop();
    await ev.drop();
  }
});

test("CONSUMER_UNKNOWN_EVENTS=skip: an undeclared type is acked, counted and logged, not dead-lettered", async () => {
  const ev = await ownStreams();
  const consumer = defineConsumer({
    name: "test-unknown-skip",
    stream: PAYMENTS,
    handlers: [on(PaymentProcessed, async () => {})],
  });
  const registry = new Registry();
  const events = await consume(consumer, { env: { CONSUMER_UNKNOWN_EVENTS: "skip" }, registry, streams: ev });
  try {
    await ev.js.publish(ev.names.subject("payments.teleported"), new Uint8Array([1, 2]), {
      headers: eventHeaders({
        id: crypto.randomUUID(),
        type: "shop.payment.v1.PaymentTeleported",
        source: "/test",
        time: new Date(),
        subject: "",
        traceparent: "",
      }),
    });
    const counted = async () => {
      const m = await (
        registry.getSingleMetric("events_consumed_total") as unknown as {
          get(): Promise<{ values: { labels: Record<string, string>; value: number }[] }>;
        }
      ).get();
      return m.values.find((v) => v.labels.consumer === "test-unknown-skip" && v.labels.outcome === "unknown")?.value;
    };
    expect(await waitFor(counted, { what: "the unknown event counted" })).toBe(1);
    // Acked: nothing waits for a redelivery.
    await waitFor(
      async () => (await ev.jsm.consumers.info(ev.names.stream("PAYMENTS"), "test-unknown-skip")).num_ack_pending === 0,
      { what: "the unknown event acked" },
    );
    expect((await ev.deadLetters.list()).filter((l) => l.consumer === "test-unknown-skip")).toEqual([]);
  } finally {
    await events.stop();
    await ev.drop();
  }
});

test("permanent failures (a Postgres data exception, an unknown entity) are dead letters on their first delivery, logged in one line without a stack", async () => {
  const ev = await ownStreams();
  const lines: string[] = [];
  const logger = pino({ level: "info" }, { write: (line: string) => void lines.push(line) });
  const unknownOrder = crypto.randomUUID();
  const consumer = defineConsumer({
    name: "test-permanent",
    stream: PAYMENTS,
    handlers: [
      on(PaymentProcessed, async (e, { tx }) => {
        // The README's ProcessPayment example once made such an event: "o-1" where a uuid goes.
        if (e.orderId === "o-1") await tx.execute(sql`select ${e.orderId}::uuid`);
        if (e.orderId === unknownOrder) throw new ConnectError(`order ${unknownOrder} not found`, Code.NotFound);
      }),
    ],
  });
  // A long backoff: a retried message would not come back within this test.
  const events = await consume(consumer, { env: { CONSUMER_BACKOFF_MS: "60000" }, streams: ev, logger });
  try {
    for (const orderId of ["o-1", unknownOrder])
      await publishEvent(ev.js, ev.names, PaymentProcessed, { ...payment(1), orderId }, { source: "/test/permanent" });
    const letters = await waitFor(
      async () => {
        const all = (await ev.deadLetters.list()).filter((l) => l.consumer === "test-permanent");
        return all.length >= 2 ? all : undefined;
      },
      { timeoutMs: 10_000, what: "two dead letters" },
    );
    expect(letters.map((l) => l.deliveries)).toEqual([1, 1]);
    const reasons = letters.map((l) => l.reason);
    expect(reasons).toContainEqual(expect.stringContaining("invalid input syntax for type uuid"));
    expect(reasons).toContainEqual(expect.stringContaining(`order ${unknownOrder} not found`));
    const failures = lines.filter((l) => /poison|handler failed/.test(l));
    expect(failures).toHaveLength(2);
    for (const l of failures) {
      expect(l.length).toBeLessThan(1000);
      expect(l).not.toContain("\\n    at ");
      expect(l).not.toContain('"stack"');
    }
    expect(lines.filter((l) => l.includes("retrying later"))).toEqual([]);
  } finally {
    await events.stop();
    await ev.drop();
  }
});
