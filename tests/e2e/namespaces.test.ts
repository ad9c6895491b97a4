// Two platforms on one NATS, told apart by PLATFORM_NAMESPACE alone (no EVENTS_PREFIX, no policy
// bucket set): each has streams, consumers, KV buckets and $SRV registrations of its own, and an event
// of one never reaches the other.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Kvm } from "@nats-io/kv";
import { registeredName, listInstances } from "../../services/kit/nats";
import {
  startServiceProcess,
  waitFor,
  type ServiceProcess,
  testSchemas,
  type TestSchemas,
  testEventStreams,
  type TestEventStreams,
} from "../../services/kit/testing";

const id = crypto.randomUUID().replaceAll("-", "").slice(0, 8);
const namespaces = [`nsa${id}`, `nsb${id}`] as const;
type Platform = { namespace: string; ev: TestEventStreams; customer: ServiceProcess; marketing: ServiceProcess };
const platforms: Platform[] = [];
let db: TestSchemas;

beforeAll(async () => {
  db = testSchemas();
  for (const namespace of namespaces) {
    const ev = await testEventStreams(undefined, namespace);
    // An empty EVENTS_PREFIX is an unset one: the streams follow the namespace.
    const env = (service: string) => ({
      ...db.env(`${namespace}_${service}`),
      PLATFORM_NAMESPACE: namespace,
      EVENTS_PREFIX: "",
      LOG_LEVEL: "debug",
    });
    const [customer, marketing] = await Promise.all([
      startServiceProcess("customer", { env: env("customer") }),
      startServiceProcess("marketing", { env: env("marketing") }),
    ]);
    platforms.push({ namespace, ev, customer: customer!, marketing: marketing! });
  }
});

afterAll(async () => {
  await Promise.all(platforms.flatMap((p) => [p.customer.stop(), p.marketing.stop()]));
  for (const p of platforms) {
    await new Kvm(p.ev.nc).open(`${p.namespace}_CONSUMER_ERRORS`).then(
      (kv) => kv.destroy(),
      () => {},
    );
    await p.ev.drop();
  }
  await db?.drop();
});

test("each platform's streams, consumers and KV buckets carry its namespace, and none is the other's", async () => {
  const owned = async (p: Platform) => {
    const streams: string[] = [];
    for await (const s of p.ev.jsm.streams.list()) streams.push(s.config.name);
    const mine = streams.filter((s) => s.startsWith(`${p.namespace}_`) || s.startsWith(`KV_${p.namespace}_`));
    const consumers: string[] = [];
    for (const s of mine) for await (const c of p.ev.jsm.consumers.list(s)) consumers.push(`${s}/${c.name}`);
    return { mine, consumers };
  };
  const [a, b] = await Promise.all(platforms.map(owned));
  for (const [p, own] of [
    [platforms[0]!, a!],
    [platforms[1]!, b!],
  ] as const) {
    expect(own.mine).toEqual(
      expect.arrayContaining([
        `${p.namespace}_CUSTOMERS`,
        `${p.namespace}_ORDERS`,
        `${p.namespace}_DLQ`,
        `KV_${p.namespace}_CONSUMER_ERRORS`,
      ]),
    );
    expect(own.consumers).toContain(`${p.namespace}_CUSTOMERS/marketing-customer-profiles`);
    // The services looked for their policies in the namespace's own bucket.
    for (const proc of [p.customer, p.marketing])
      expect(proc.logs.some((l) => l.bucket === `${p.namespace}_policies`)).toBe(true);
  }
  expect(a!.mine.filter((s) => b!.mine.includes(s))).toEqual([]);
  expect(a!.consumers.filter((c) => b!.consumers.includes(c))).toEqual([]);
});

test("each platform's registrations answer under its own name: a lookup never sees the other's instances", async () => {
  for (const [p, other] of [
    [platforms[0]!, platforms[1]!],
    [platforms[1]!, platforms[0]!],
  ] as const) {
    const listed = await listInstances(p.ev.nc, { namespace: p.namespace });
    expect(listed.map((i) => i.id).sort()).toEqual([p.customer.id, p.marketing.id].sort());
    expect(listed.map((i) => i.name).sort()).toEqual(["customer", "marketing"]);
    // Even read without the namespace filter, $SRV.INFO.<ns>-customer names this platform's customer only.
    const byName = await listInstances(p.ev.nc, { name: "customer", namespace: p.namespace });
    expect(byName.map((i) => i.id)).toEqual([p.customer.id]);
    const all = await listInstances(p.ev.nc, {});
    const registered = all.filter((i) => i.id === other.customer.id);
    expect(registered.map((i) => i.namespace)).toEqual([other.namespace]);
    expect(registeredName(p.namespace, "customer")).not.toBe(registeredName(other.namespace, "customer"));
  }
});

test("a customer registered on one platform reaches that platform's marketing only", async () => {
  const [a, b] = platforms as [Platform, Platform];
  const res = await fetch(`${a.customer.http}/v1/customers`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: `ns-${id}@example.com`, name: "Ada" }),
  });
  expect(res.status).toBe(201);
  const { id: customerId } = (await res.json()) as { id: string };
  await waitFor(async () => (await fetch(`${a.marketing.http}/v1/profiles/${customerId}`)).status === 200, {
    timeoutMs: 10_000,
    what: "platform a's profile of the customer",
  });
  expect((await a.ev.stored("CUSTOMERS", "customers.>")).length).toBe(1);
  expect((await b.ev.stored("CUSTOMERS", "customers.>")).length).toBe(0);
  expect((await fetch(`${b.marketing.http}/v1/profiles/${customerId}`)).status).toBe(404);
  const consumer = await b.ev.jsm.consumers.info(b.ev.names.stream("CUSTOMERS"), "marketing-customer-profiles");
  expect(consumer.delivered.stream_seq).toBe(0);
});
