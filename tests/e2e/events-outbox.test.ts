// The transactional outbox end to end, with the customer service as the publisher (real processes,
// real Postgres, real JetStream): prompt publishing on NOTIFY, a kill between commit and publish, a
// kill between publish and marking, two replicas relaying at once, NATS down, and PGlite.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { fromBinary } from "@bufbuild/protobuf";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CustomerRegisteredSchema } from "../../services/contracts/gen/shop/customer/v1/customer_pb";
import { CE } from "../../services/kit/events";
import {
  startTestNatsServer,
  testEventStreams,
  type TestEventStreams,
  startServiceProcess,
  waitFor,
  type ServiceProcess,
  testSchemas,
  type TestSchemas,
} from "../../services/kit/testing";

let db: TestSchemas;
let ev: TestEventStreams;
const running = new Set<ServiceProcess>();

beforeAll(async () => {
  db = testSchemas();
  ev = await testEventStreams();
});

afterAll(async () => {
  await Promise.all([...running].map((p) => p.stop()));
  await ev?.drop();
  await db?.drop();
});

/** A customer service on this file's schema and streams; the poll is 10 minutes, so only NOTIFY is quick. */
async function customerService(env: Record<string, string> = {}) {
  const p = await startServiceProcess("customer", {
    env: { ...db.env("customer"), ...ev.env, OUTBOX_POLL_MS: "600000", ...env },
  });
  running.add(p);
  return p;
}

async function stop(p: ServiceProcess, signal?: NodeJS.Signals) {
  await p.stop(signal);
  running.delete(p);
}

async function register(p: ServiceProcess, name = "Ada") {
  const res = await fetch(`${p.http}/v1/customers`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: `${name.toLowerCase()}-${crypto.randomUUID()}@example.com`, name }),
  });
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string; email: string; name: string };
}

/** A customer service whose relay halts at `stage`, a customer registered through it, once the relay halted. */
async function haltedAt(stage: "before_publish" | "after_publish", name: string) {
  const halted = await customerService({ OUTBOX_RELAY_HALT: stage });
  const customer = await register(halted, name);
  await waitFor(() => halted.logs.some((l) => l.outbox_halt === stage), { what: `the relay halted ${stage}` });
  return { halted, customer };
}

const outbox = (schema = db.schema("customer")) =>
  db.sql.unsafe<{ seq: string; id: string; entity_id: string; published: boolean }[]>(
    `select seq::text, id::text, entity_id, published_at is not null as published from "${schema}".outbox order by seq`,
  );

/** The stored events about customer `id` (ce-subject). */
const eventsAbout = async (id: string) =>
  (await ev.stored("CUSTOMERS", "customers.registered")).filter((m) => m.header?.get(CE.subject) === id);

describe("publishing through the outbox", () => {
  test("a registration is published at once (NOTIFY, not the 10-minute poll), once, with CloudEvents headers", async () => {
    const p = await customerService();
    const ada = await register(p);
    const msg = await waitFor(async () => (await eventsAbout(ada.id))[0], {
      timeoutMs: 5000,
      what: "the CustomerRegistered event",
    });
    const [row] = (await outbox()).filter((r) => r.entity_id === ada.id);
    expect(row!.published).toBe(true);
    expect(msg!.subject).toBe(ev.names.subject("customers.registered"));
    expect(msg!.header!.get(CE.id)).toBe(row!.id);
    expect(msg!.header!.get("Nats-Msg-Id")).toBe(row!.id);
    expect(msg!.header!.get(CE.type)).toBe("shop.customer.v1.CustomerRegistered");
    expect(msg!.header!.get(CE.source)).toBe("/shop/customer");
    expect(msg!.header!.get(CE.specversion)).toBe("1.0");
    expect(msg!.header!.get(CE.traceparent)).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(Number.isNaN(Date.parse(msg!.header!.get(CE.time)))).toBe(false);
    const { customer } = fromBinary(CustomerRegisteredSchema, msg!.data);
    expect(customer).toMatchObject({ id: ada.id, email: ada.email, name: "Ada" });
    await stop(p);
  });

  test("killed between commit and publish: after a restart the event goes out once", async () => {
    const { halted, customer: bob } = await haltedAt("before_publish", "Bob");
    expect((await outbox()).find((r) => r.entity_id === bob.id)?.published).toBe(false);
    await stop(halted, "SIGKILL");
    expect(await eventsAbout(bob.id)).toEqual([]);

    const restarted = await customerService();
    await waitFor(async () => (await eventsAbout(bob.id)).length === 1, {
      timeoutMs: 5000,
      what: "the event after the restart",
    });
    await waitFor(async () => (await outbox()).find((r) => r.entity_id === bob.id)?.published, {
      what: "the row marked published",
    });
    expect(await eventsAbout(bob.id)).toHaveLength(1);
    await stop(restarted);
  });

  test("killed between publish and marking: republished after the restart, stored once (Nats-Msg-Id)", async () => {
    const { halted, customer: cy } = await haltedAt("after_publish", "Cy");
    expect(await eventsAbout(cy.id)).toHaveLength(1);
    expect((await outbox()).find((r) => r.entity_id === cy.id)?.published).toBe(false);
    await stop(halted, "SIGKILL");

    const restarted = await customerService();
    await waitFor(async () => (await outbox()).find((r) => r.entity_id === cy.id)?.published, {
      timeoutMs: 5000,
      what: "the row marked published",
    });
    expect(await eventsAbout(cy.id)).toHaveLength(1);
    // The relay did publish it again; JetStream said it was a duplicate.
    const metrics = await (await fetch(`${restarted.http}/metrics`)).text();
    expect(metrics).toMatch(/outbox_published_total\{[^}]*duplicate="true"[^}]*\} 1/);
    await stop(restarted);
  });

  test("two replicas relaying one outbox: every event once, and changes made one after another in their order", async () => {
    const [a, b] = await Promise.all([customerService(), customerService()]);
    const made = await Promise.all(Array.from({ length: 60 }, (_, i) => register(i % 2 ? a! : b!, `Many${i}`)));
    await waitFor(async () => (await outbox()).every((r) => r.published), {
      timeoutMs: 10_000,
      what: "every row published",
    });
    const stored = await ev.stored("CUSTOMERS", "customers.registered");
    const ids = stored.map((m) => m.header!.get(CE.id));
    expect(new Set(ids).size).toBe(ids.length);
    for (const c of made) expect(stored.filter((m) => m.header?.get(CE.subject) === c.id)).toHaveLength(1);

    // Changes made one after another (as one order's are) come out in that order, whichever replica
    // wrote them and whichever relays: one relay at a time (the advisory lock), rows in seq order.
    const before = stored.length;
    const sequential: string[] = [];
    for (let i = 0; i < 20; i++) sequential.push((await register(i % 2 ? a! : b!, `Next${i}`)).id);
    await waitFor(async () => (await ev.stored("CUSTOMERS", "customers.registered")).length === before + 20, {
      timeoutMs: 10_000,
      what: "twenty more events",
    });
    const after = (await ev.stored("CUSTOMERS", "customers.registered")).slice(before);
    expect(after.map((m) => m.header!.get(CE.subject))).toEqual(sequential);
    await Promise.all([stop(a!), stop(b!)]);
  });
});

test("with NATS down, registrations still commit and their events wait; when NATS is back they go out, once each", async () => {
  const nats = await startTestNatsServer();
  const own = await testEventStreams(nats.url);
  const schemas = testSchemas();
  const p = await startServiceProcess("customer", { env: { ...schemas.env("customer"), ...own.env } });
  try {
    const rows = () =>
      schemas.sql.unsafe<{ published: boolean }[]>(
        `select published_at is not null as published from "${schemas.schema("customer")}".outbox`,
      );
    await register(p, "Before");
    await waitFor(async () => (await rows()).every((r) => r.published), { what: "the first event published" });
    await own.nc.close();
    await nats.stop();

    const during = await Promise.all(["One", "Two", "Three"].map((n) => register(p, n)));
    await waitFor(() => p.logs.some((l) => l.msg === "outbox relay cannot publish; rows wait"), {
      timeoutMs: 10_000,
      what: "the relay failing while NATS is down",
    });
    expect((await rows()).filter((r) => !r.published)).toHaveLength(3);

    await nats.start();
    await waitFor(async () => (await rows()).every((r) => r.published), {
      timeoutMs: 20_000,
      what: "the waiting events published",
    });
    const back = await testEventStreams(nats.url);
    const stored = (await back.jsm.streams.getMessage(own.names.stream("CUSTOMERS"), {
      last_by_subj: own.names.subject("customers.registered"),
    }))!;
    const info = await back.jsm.streams.info(own.names.stream("CUSTOMERS"));
    expect(info.state.messages).toBe(4);
    expect(during.map((c) => c.id)).toContain(stored.header!.get(CE.subject));
    await back.nc.close();
  } finally {
    await p.stop();
    await schemas.drop();
    await nats.destroy();
  }
});

test("on embedded PGlite the relay wakes on PGlite's own LISTEN/NOTIFY", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "data-"));
  const p = await startServiceProcess("customer", { env: { ...ev.env, DATA_DIR: dataDir, OUTBOX_POLL_MS: "600000" } });
  try {
    const dee = await register(p, "Dee");
    await waitFor(async () => (await eventsAbout(dee.id)).length === 1, {
      timeoutMs: 5000,
      what: "the event from PGlite",
    });
  } finally {
    await p.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
