// The invariant checker's 2 (the provider's captures), 3, 4 (one effect per event, marketing's spend),
// 5 (nothing lost) and 6 (nothing stuck) notice what they are for, on real schemas (migrated as the
// services migrate them) and a real DLQ.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { headers as natsHeaders } from "@nats-io/transport-node";
import { join } from "node:path";
import pino from "pino";
import { checkInvariants } from "./invariants";
import { openDatabase } from "../services/kit/db";
import { DLQ } from "../services/kit/events";
import { PLATFORM_STREAMS } from "../services/platform/communication";
import {
  testEventStreams,
  type TestEventStreams,
  waitFor,
  testSchemas,
  type TestSchemas,
  TEST_DATABASE_URL,
} from "../services/kit/testing";

const SERVICES = ["order", "inventory", "payment", "customer", "notification", "marketing"] as const;
let db: TestSchemas;
let ev: TestEventStreams;

beforeAll(async () => {
  db = testSchemas();
  ev = await testEventStreams();
  await ev.ensure(PLATFORM_STREAMS);
  const log = pino({ level: "silent" });
  for (const service of SERVICES) {
    const schema = await import(`../services/${service}/db/schema.ts`);
    const opened = await openDatabase({
      service,
      env: db.env(service),
      log,
      schema,
      migrationsFolder: join(import.meta.dir, `../services/${service}/db/migrations`),
    });
    await opened.close();
  }
});

afterAll(async () => {
  await ev?.drop();
  await db?.drop();
});

const check = (stuckAfterSeconds: number) =>
  checkInvariants({
    order: db.sql,
    inventory: db.sql,
    payment: db.sql,
    customer: db.sql,
    notification: db.sql,
    marketing: db.sql,
    schemas: Object.fromEntries(SERVICES.map((s) => [s, db.schema(s)])) as never,
    events: { jsm: ev.jsm, names: ev.names, deadLetters: ev.deadLetters },
    stuckAfterSeconds,
  });

test("a clean platform has no breach of 4 or 5", async () => {
  const { breaches, counts } = await check(60);
  expect(breaches).toEqual([]);
  expect(counts).toMatchObject({ "emails.order_confirmed": 0, "outbox.unpublished": 0, "dlq.entries": 0 });
});

test("4: two confirmation e-mails for one order, and a confirmed order that never got one", async () => {
  const [twice, never] = [crypto.randomUUID(), crypto.randomUUID()];
  const customer = crypto.randomUUID();
  for (const id of [twice, never])
    await db.sql.unsafe(
      `insert into "${db.schema("order")}".orders (id, customer_id, state, currency, total_minor, created_at, updated_at) values ($1, $2, 'confirmed', 'EUR', 100, now() - interval '5 minutes', now() - interval '5 minutes')`,
      [id, customer],
    );
  for (let i = 0; i < 2; i++)
    await db.sql.unsafe(
      `insert into "${db.schema("notification")}".emails (event_id, kind, order_id, customer_id, recipient, subject, message_id) values ($1, 'order_confirmed', $2, $3, 'a@example.com', 's', 'm')`,
      [crypto.randomUUID(), twice, customer],
    );
  const { breaches } = await check(60);
  expect(breaches).toContainEqual({
    invariant: 4,
    subject: `order ${twice}`,
    problem: "2 confirmation e-mails for one OrderConfirmed",
  });
  expect(breaches).toContainEqual({
    invariant: 4,
    subject: `order ${never}`,
    problem: "confirmed more than 60 s ago and no confirmation e-mail was sent (is it in the DLQ?)",
  });
});

test("5: an outbox row left unpublished, a dead letter without a reason, an advisory never turned into one", async () => {
  await db.sql.unsafe(
    `insert into "${db.schema("payment")}".outbox (id, subject, type, traceparent, payload, created_at) values ($1, 'payments.processed', 'shop.payment.v1.PaymentProcessed', '', '\\x', now() - interval '5 minutes')`,
    [crypto.randomUUID()],
  );
  const h = natsHeaders();
  h.set("ce-id", crypto.randomUUID());
  h.set(DLQ.consumer, "someone");
  h.set(DLQ.reason, "");
  const { seq } = await ev.js.publish(
    ev.names.deadLetterSubject(ev.names.stream("ORDERS"), "someone"),
    new Uint8Array([1]),
    { headers: h },
  );
  // An advisory as the server sends it, with nobody to write its dead letter.
  ev.nc.publish(
    `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${ev.names.stream("ORDERS")}.nobody`,
    JSON.stringify({ stream: ev.names.stream("ORDERS"), consumer: "nobody", stream_seq: 1, deliveries: 5 }),
  );
  await waitFor(async () => (await ev.jsm.streams.info(ev.names.advisories("ORDERS"))).state.messages === 1, {
    what: "the advisory captured",
  });
  // Stuck once older than stuckAfterSeconds (1 s here).
  const { breaches } = (await waitFor(
    async () => {
      const result = await check(1);
      return result.breaches.some((b) => b.subject === "dead letters") ? result : undefined;
    },
    { timeoutMs: 5000, what: "the waiting advisory reported" },
  ))!;
  expect(breaches).toContainEqual({
    invariant: 5,
    subject: "payment outbox",
    problem: "1 events written more than 1 s ago are not published",
  });
  expect(breaches.find((b) => b.subject === `dead letter ${seq}`)?.problem).toStartWith("no reason recorded");
  expect(breaches.find((b) => b.subject === "dead letters")?.problem).toStartWith(
    "1 dead messages are not written to the DLQ yet",
  );
});

const order = (state: string, { target = "", customer = crypto.randomUUID(), total = 100, ageMinutes = 5 } = {}) => {
  const id = crypto.randomUUID();
  return db.sql
    .unsafe(
      `insert into "${db.schema("order")}".orders (id, customer_id, state, target, currency, total_minor, created_at, updated_at)
       values ($1, $2, $3, $4, 'EUR', $5, now() - make_interval(mins => $6), now() - make_interval(mins => $6))`,
      [id, customer, state, target, total, ageMinutes],
    )
    .then(() => id);
};

test("2: a capture the provider made that no payment records, and a captured payment the provider never made", async () => {
  const lostKey = `order-${crypto.randomUUID()}`;
  await db.sql.unsafe(
    `insert into "${db.schema("payment")}".provider_charges (idempotency_key, outcome, amount_minor, currency) values ($1, 'captured', 100, 'EUR')`,
    [lostKey],
  );
  const phantom = crypto.randomUUID();
  await db.sql.unsafe(
    `insert into "${db.schema("payment")}".payments (id, order_id, amount_minor, currency, state, idempotency_key) values ($1, $2, 100, 'EUR', 'captured', $3)`,
    [phantom, crypto.randomUUID(), `order-${crypto.randomUUID()}`],
  );
  const { breaches } = await check(60);
  expect(breaches).toContainEqual({
    invariant: 2,
    subject: `provider capture ${lostKey}`,
    problem: "the provider captured under this key, but no payment is captured or refunded for it",
  });
  expect(
    breaches.some(
      (b) =>
        b.invariant === 2 && b.subject === `payment ${phantom}` && b.problem.includes("the provider has no capture"),
    ),
  ).toBe(true);
});

test("6 and 3: a saga left half-way past the bound, and a pending order still holding stock", async () => {
  const paid = await order("paid", { target: "confirmed" });
  const abandoning = await order("pending", { target: "pending" });
  const recent = await order("reserved", { target: "confirmed", ageMinutes: 0 });
  const holding = await order("pending");
  await db.sql.unsafe(
    `insert into "${db.schema("inventory")}".reservations (id, order_id, status, expires_at) values ($1, $2, 'active', now() + interval '1 hour')`,
    [crypto.randomUUID(), holding],
  );
  const { breaches } = await check(60);
  const subjects = breaches.filter((b) => b.invariant === 6).map((b) => b.subject);
  expect(subjects).toContain(`order ${paid}`);
  expect(subjects).toContain(`order ${abandoning}`);
  expect(subjects).not.toContain(`order ${recent}`);
  expect(breaches.find((b) => b.subject === `order ${paid}`)?.problem).toContain("paid (on its way to confirmed)");
  expect(
    breaches.some(
      (b) => b.invariant === 3 && b.subject === `order ${holding}` && b.problem.startsWith("pending but reservation"),
    ),
  ).toBe(true);
});

test("4: marketing's spend must be the total of the customer's confirmed orders", async () => {
  const [right, wrong] = [crypto.randomUUID(), crypto.randomUUID()];
  await order("confirmed", { customer: right, total: 700 });
  await order("cancelled", { customer: right, total: 300 });
  await order("confirmed", { customer: wrong, total: 500 });
  for (const [customer, spent] of [
    [right, 700],
    [wrong, 200],
  ] as const)
    await db.sql.unsafe(
      `insert into "${db.schema("marketing")}".profile_spend (customer_id, currency, amount_minor) values ($1, 'EUR', $2)`,
      [customer, spent],
    );
  const { breaches } = await check(60);
  expect(breaches).toContainEqual({
    invariant: 4,
    subject: `customer ${wrong}`,
    problem: "marketing counts 200 EUR spent, the confirmed orders total 500",
  });
  expect(breaches.some((b) => b.subject === `customer ${right}`)).toBe(false);
});

test("the command says what it reads, and refuses without DATABASE_URL, naming it and the PGlite data it found", async () => {
  const { mkdtempSync, mkdirSync, rmSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const dataDir = mkdtempSync(join(tmpdir(), "invariants-"));
  mkdirSync(join(dataDir, "order", "pglite"), { recursive: true });
  const run = async (env: Record<string, string | undefined>) => {
    const proc = Bun.spawn(["bun", join(import.meta.dir, "invariants.ts")], {
      env: { ...process.env, DATABASE_URL: undefined, DATA_DIR: dataDir, IDENTITIES_DIR: dataDir, ...env },
      stdout: "pipe",
      stderr: "pipe",
    });
    const [stdout, stderr, code] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ]);
    return { stdout, stderr, code };
  };
  try {
    // `bun run dev` without DATABASE_URL: the data is in PGlite, which it does not read.
    const refused = await run({});
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("DATABASE_URL is not set");
    expect(refused.stderr).toContain(join(dataDir, "order", "pglite"));
    expect(refused.stderr).toContain("DATABASE_URL=postgres://");
    expect(refused.stderr).not.toContain("relation");

    // On Postgres: it names the server, the schemas and the dead letters it reads, then checks them.
    const schemaEnv = Object.fromEntries(SERVICES.map((s) => [`${s.toUpperCase()}_SCHEMA`, db.schema(s)]));
    const read = await run({ DATABASE_URL: TEST_DATABASE_URL, ...schemaEnv, ...ev.env });
    expect(read.stderr).toBe("");
    expect(read.stdout.split("\n")[0]).toBe(
      `invariants: reading Postgres at ${TEST_DATABASE_URL}: schemas ${SERVICES.map((s) => db.schema(s)).join(", ")}; dead letters on NATS ${ev.env.NATS_URL} (events prefix ${ev.prefix})`,
    );
    // The earlier tests of this file left breaches on purpose: it read them (1), it did not fail to read (2).
    expect(read.stdout).toMatch(/\n(all invariants hold|\d+ breaches)\n$/);
    expect(read.code).toBe(/all invariants hold/.test(read.stdout) ? 0 : 1);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
