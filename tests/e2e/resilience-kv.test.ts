// Policy settings live in a NATS KV bucket: changing the payment breaker's threshold there changes how a
// running order service treats the same traffic, without a restart. Real processes (customer, inventory,
// payment, order) on the real Postgres, a namespace and a bucket of this test's own.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { Kvm, type KV } from "@nats-io/kv";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { InventoryService } from "../../services/contracts/gen/shop/inventory/v1/inventory_service_pb";
import { OrderService } from "../../services/contracts/gen/shop/order/v1/order_service_pb";
import {
  startServiceProcess,
  waitFor,
  type ServiceProcess,
  testSchemas,
  type TestSchemas,
  runToExit,
} from "../../services/kit/testing";

const namespace = `kv${crypto.randomUUID().slice(0, 8)}`;
const bucket = `test_policies_${crypto.randomUUID().slice(0, 8)}`;
let db: TestSchemas;
let nc: NatsConnection;
let kv: KV;
const procs: ServiceProcess[] = [];
let order: ServiceProcess;
let orders: Client<typeof OrderService>;
let customerId: string;

/** No retries, so one confirm is one payment call; a long window and a long open period keep the test deterministic. */
const paymentPolicy = (failureRateThreshold: number) =>
  JSON.stringify({
    retry: { maxRetries: 0 },
    breaker: { failureRateThreshold, minimumCalls: 4, windowMs: 60_000, halfOpenAfterMs: 60_000 },
  });

async function start(name: string, env: Record<string, string> = {}) {
  const p = await startServiceProcess(name, { env: { ...db.env(name), PLATFORM_NAMESPACE: namespace, ...env } });
  procs.push(p);
  return p;
}

/** A value of the order service's /metrics: the sum over the series with these labels. */
async function orderMetric(name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${order.http}/metrics`)).text();
  return text
    .split("\n")
    .filter((l) => l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(" ") + 1)), 0);
}

const policiesCli = (args: string[]) =>
  runToExit(["bun", "cli/policies.ts", ...args], { env: { RESILIENCE_POLICY_BUCKET: bucket }, timeoutMs: 20_000 });

async function confirmWith(cardToken: string) {
  const { order: created } = await orders.createOrder({
    customerId,
    currency: "EUR",
    items: [{ productId: "sku-kv", quantity: 1 }],
  });
  await orders.confirmOrder({ orderId: created!.id, cardToken }).catch(() => {});
}

beforeAll(async () => {
  db = testSchemas();
  nc = await connect({ servers: process.env.NATS_URL ?? "nats://127.0.0.1:4222" });
  kv = await new Kvm(nc).create(bucket, { history: 5 });
  await kv.put("payment", paymentPolicy(0.9));
  const [customer, inventory] = await Promise.all([start("customer"), start("inventory"), start("payment")]);
  order = await start("order", { RESILIENCE_POLICY_BUCKET: bucket });
  orders = createClient(OrderService, createConnectTransport({ baseUrl: order.http, httpVersion: "1.1" }));
  const res = await fetch(`${customer!.http}/v1/customers`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: `kv-${crypto.randomUUID()}@example.com`, name: "KV Tester" }),
  });
  customerId = ((await res.json()) as { id: string }).id;
  await createClient(
    InventoryService,
    createConnectTransport({ baseUrl: inventory!.http, httpVersion: "1.1" }),
  ).upsertProduct({
    product: { id: "sku-kv", name: "KV mug", price: { amountMinor: 900n, currency: "EUR" }, stock: 1000 },
  });
});

afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop()));
  await kv?.destroy();
  await nc?.drain();
  await db?.drop();
});

test("a lower breaker threshold put in KV opens the breaker of a running order service on traffic that did not open it before", async () => {
  expect(order.logs.some((l) => l.msg === "policy settings loaded; watching for changes" && l.bucket === bucket)).toBe(
    true,
  );
  const attempts = () => orderMetric("rpc_client_attempts_total", { target: "payment" });

  // Half the payment calls fail (the provider's transient error): under a 90% threshold the breaker stays closed.
  for (const token of ["tok_success", "tok_transient", "tok_success", "tok_transient", "tok_success", "tok_transient"])
    await confirmWith(token);
  expect(await orderMetric("rpc_client_attempts_total", { target: "payment", outcome: "ok" })).toBe(3);
  expect(await orderMetric("rpc_client_attempts_total", { target: "payment", outcome: "Unavailable" })).toBe(3);
  expect(await orderMetric("rpc_client_breaker_state", { target: "payment" })).toBe(0);
  expect(await orderMetric("rpc_client_rejections_total", { target: "payment", reason: "circuit_open" })).toBe(0);

  // 20%: the same failure rate is now too much. Set with the CLI; the running service picks it up from its watch.
  const bad = await policiesCli(["set", "payment", '{"breaker":{"failureRateThreshold":0}}']);
  expect(bad.code).toBe(1);
  expect(bad.stderr).toContain("breaker.failureRateThreshold must be a number between 0 and 1 (exclusive), got 0");
  const set = await policiesCli(["set", "payment", paymentPolicy(0.2)]);
  expect(set.code).toBe(0);
  const revision = Number(/\(revision (\d+)\)/.exec(set.stdout)?.[1]);
  expect(JSON.parse((await policiesCli(["get", "payment"])).stdout).breaker).toEqual({
    failureRateThreshold: 0.2,
    minimumCalls: 4,
    windowMs: 60_000,
    halfOpenAfterMs: 60_000,
    halfOpenCalls: 1,
  });
  await waitFor(
    () =>
      order.logs.some((l) => l.msg === "policy settings applied" && l.target === "payment" && l.revision === revision),
    { what: "the order service to apply the new threshold" },
  );

  await confirmWith("tok_transient");
  await waitFor(() => order.logs.some((l) => l.msg === "circuit breaker for payment opened: calls fail fast"), {
    what: "the breaker-opened log line",
  });
  expect(await orderMetric("rpc_client_breaker_state", { target: "payment" })).toBe(1);
  const sent = await attempts();
  expect(sent).toBe(7);

  // Open: a confirm no longer reaches payment at all.
  await confirmWith("tok_success");
  expect(await attempts()).toBe(sent);
  expect(await orderMetric("rpc_client_rejections_total", { target: "payment", reason: "circuit_open" })).toBe(1);

  // A value that does not parse is refused with its reasons, and the settings in force stay.
  await kv.put("payment", '{"breaker":{"failureRateThreshold":2}}');
  await waitFor(() => order.logs.some((l) => l.msg === "policy settings rejected; the previous ones stay"), {
    what: "the bad value to be refused",
  });
  const refused = order.logs.find((l) => l.msg === "policy settings rejected; the previous ones stay")!;
  expect(refused.problems).toEqual([
    "breaker.failureRateThreshold must be a number between 0 and 1 (exclusive), got 2",
  ]);
});
