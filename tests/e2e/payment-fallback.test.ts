// The payment fallback: with every payment instance gone, ConfirmOrder answers fast with the order
// PAYMENT_PENDING and a PaymentRequested command on JetStream; once a payment instance is back, every
// pending order reaches CONFIRMED or PAYMENT_FAILED on its own, and the invariants hold.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { InventoryService } from "../../services/contracts/gen/shop/inventory/v1/inventory_service_pb";
import { OrderService, OrderStatus } from "../../services/contracts/gen/shop/order/v1/order_service_pb";
import { breachesIn } from "./support/invariants";
import { testPlatform } from "./support/test-platform";
import { waitFor } from "../../services/kit/testing";

const platform = testPlatform("fallback", { CONSUMER_BACKOFF_MS: "100,200,400", DISCOVERY_REFRESH_MS: "500" });
const { db } = platform;
let orders: Client<typeof OrderService>;
let customerId: string;

const start = (name: string) => platform.start(name);

beforeAll(async () => {
  const [customer, inventory, order] = await Promise.all(["customer", "inventory", "order"].map(start));
  await start("payment");
  orders = createClient(OrderService, createConnectTransport({ baseUrl: order!.http, httpVersion: "1.1" }));
  const inv = createClient(InventoryService, createConnectTransport({ baseUrl: inventory!.http, httpVersion: "1.1" }));
  await inv.upsertProduct({
    product: { id: "sku-mug", name: "Mug", price: { amountMinor: 1200n, currency: "EUR" }, stock: 1000 },
  });
  const res = await fetch(`${customer!.http}/v1/customers`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: `fb-${crypto.randomUUID()}@example.com`, name: "Fallback" }),
  });
  customerId = ((await res.json()) as { id: string }).id;
});
afterAll(async () => {
  await platform.stop();
});

test("payment down: orders wait PAYMENT_PENDING, answered fast; payment back: every one settles, invariants hold", async () => {
  // Warm path first: payment is up, a confirm is synchronous.
  const first = (
    await orders.createOrder({ customerId, currency: "EUR", items: [{ productId: "sku-mug", quantity: 1 }] })
  ).order!;
  expect((await orders.confirmOrder({ orderId: first.id, cardToken: "tok_success" })).order?.status).toBe(
    OrderStatus.CONFIRMED,
  );

  expect(await platform.stopProcess(platform.proc("payment"))).toBe(0);

  const tokens = ["tok_success", "tok_declined", "tok_success", "tok_transient", "tok_success", "tok_declined"];
  const pending: { id: string; token: string }[] = [];
  const answeredInMs: number[] = [];
  for (const token of tokens) {
    const { order } = await orders.createOrder({
      customerId,
      currency: "EUR",
      items: [{ productId: "sku-mug", quantity: 2 }],
    });
    const t0 = performance.now();
    const waiting = (await orders.confirmOrder({ orderId: order!.id, cardToken: token })).order!;
    answeredInMs.push(performance.now() - t0);
    expect(waiting.status).toBe(OrderStatus.PAYMENT_PENDING);
    expect(waiting.paymentId).toBe(""); // never a made-up payment id
    expect(waiting.statusReason).toContain("payment unavailable");
    pending.push({ id: order!.id, token });
  }
  // Fail fast: no call waits out long timeouts (the bound is generous for a loaded 2-core machine).
  expect(Math.max(...answeredInMs)).toBeLessThan(5000);
  // The commands reach the stream through the outbox relay, after the confirms answered: wait for them.
  await waitFor(async () => (await platform.streams.stored("PAYMENTS", "payments.requested")).length >= tokens.length, {
    timeoutMs: 10_000,
    intervalMs: 50,
    what: `${tokens.length} PaymentRequested commands on the stream`,
  });
  expect(await platform.streams.stored("PAYMENTS", "payments.requested")).toHaveLength(tokens.length);

  await start("payment");
  const final = await waitFor(
    async () => {
      const now = await Promise.all(
        pending.map(async (p) => ({ ...p, order: (await orders.getOrder({ orderId: p.id })).order! })),
      );
      return now.every((p) => p.order.status !== OrderStatus.PAYMENT_PENDING) ? now : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 100, what: "every pending order to settle" },
  ).catch((e): never => {
    for (const p of platform.procs)
      for (const l of p.logs) if (Number(l.level) >= 40) console.error(p.name, JSON.stringify(l));
    throw e;
  });
  for (const p of final) {
    const expected = p.token === "tok_success" ? OrderStatus.CONFIRMED : OrderStatus.PAYMENT_FAILED;
    expect(`${p.token}: ${OrderStatus[p.order.status]}`).toBe(`${p.token}: ${OrderStatus[expected]}`);
    if (p.token === "tok_success") expect(p.order.paymentId).not.toBe("");
  }
  const transient = final.find((p) => p.token === "tok_transient")!;
  expect(transient.order.statusReason).toContain("provider unavailable after 3 attempts");

  expect(await breachesIn(db)).toEqual([]);
});
