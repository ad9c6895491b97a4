// The whole asynchronous path with NATS restarted in the middle: orders placed and confirmed through the
// order saga (customer, inventory, payment, order as real processes) → OrderConfirmed / OrderPaymentFailed
// through the order outbox → notification e-mails to a real SMTP server and marketing profiles. NATS is a
// server of this test's own (never the machine's shared one), stopped and started again while orders flow:
// no event lost, none handled twice, and the invariant checker agrees.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { InventoryService } from "../../services/contracts/gen/shop/inventory/v1/inventory_service_pb";
import { OrderService, OrderStatus } from "../../services/contracts/gen/shop/order/v1/order_service_pb";
import { invariantsIn } from "./support/invariants";
import { CE } from "../../services/kit/events";
import {
  startTestNatsServer,
  type TestNatsServer,
  testEventStreams,
  type TestEventStreams,
  startServiceProcess,
  waitFor,
  type ServiceProcess,
  testSchemas,
  type TestSchemas,
} from "../../services/kit/testing";
import { startSmtpTestServer, type SmtpTestServer } from "../../services/notification/testing/smtp-test-server";

const SERVICES = ["customer", "inventory", "payment", "order", "notification", "marketing"] as const;
let nats: TestNatsServer;
let ev: TestEventStreams;
let db: TestSchemas;
let smtp: SmtpTestServer;
const procs = new Map<string, ServiceProcess>();
let orders: Client<typeof OrderService>;
let customerId: string;

beforeAll(async () => {
  nats = await startTestNatsServer();
  ev = await testEventStreams(nats.url);
  db = testSchemas();
  smtp = await startSmtpTestServer();
  const namespace = `flow${crypto.randomUUID().slice(0, 8)}`;
  for (const name of SERVICES) {
    const env = {
      ...db.env(name),
      ...ev.env,
      PLATFORM_NAMESPACE: namespace,
      SMTP_URL: smtp.url,
      CONSUMER_BACKOFF_MS: "200,500,1000",
      CONSUMER_MAX_DELIVER: "20",
    };
    procs.set(name, await startServiceProcess(name, { env }));
  }
  orders = createClient(
    OrderService,
    createConnectTransport({ baseUrl: procs.get("order")!.http, httpVersion: "1.1" }),
  );
  const inventory = createClient(
    InventoryService,
    createConnectTransport({ baseUrl: procs.get("inventory")!.http, httpVersion: "1.1" }),
  );
  await inventory.upsertProduct({
    product: { id: "sku-mug", name: "Mug", price: { amountMinor: 1250n, currency: "EUR" }, stock: 10_000 },
  });
  const res = await fetch(`${procs.get("customer")!.http}/v1/customers`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: `flow-${crypto.randomUUID().slice(0, 8)}@example.com`, name: "Flo" }),
  });
  customerId = ((await res.json()) as { id: string }).id;
  // Notification must know the customer before the first order event: its copy comes by event too.
  await waitFor(
    async () =>
      (await db.sql.unsafe(`select 1 from "${db.schema("notification")}".customers where id = $1`, [customerId]))
        .length === 1,
    {
      timeoutMs: 15_000,
      what: "notification's copy of the customer",
    },
  );
}, 120_000);

afterAll(async () => {
  await Promise.all([...procs.values()].map((p) => p.stop()));
  await smtp?.close();
  await ev?.nc.close().catch(() => {});
  await nats?.destroy();
  await db?.drop();
});

test("NATS restarted while orders flow: every confirmation and failure e-mailed exactly once, profiles exact, invariants hold", async () => {
  const attempted: string[] = [];
  let placed = 0;
  const worker = async (w: number) => {
    for (let i = 0; i < 10; i++) {
      const n = placed++;
      try {
        const { order } = await orders.createOrder({
          customerId,
          currency: "EUR",
          items: [{ productId: "sku-mug", quantity: 1 }],
        });
        attempted.push(order!.id);
        await orders.confirmOrder({ orderId: order!.id, cardToken: n % 5 === 4 ? "tok_declined" : "tok_success" });
      } catch {
        // A call may fail while NATS is away (discovery); the orders that did change state must still be told.
      }
      if (w === 0 && i === 3) {
        await nats.stop();
        await Bun.sleep(1500);
        await nats.start();
      }
    }
  };
  await Promise.all([0, 1, 2].map(worker));

  const rows = await db.sql.unsafe<{ id: string; state: string }[]>(
    `select id::text, state from "${db.schema("order")}".orders`,
  );
  const confirmed = rows.filter((r) => r.state === "confirmed").map((r) => r.id);
  const failed = rows.filter((r) => r.state === "payment_failed").map((r) => r.id);
  expect(confirmed.length).toBeGreaterThan(10);
  expect(failed.length).toBeGreaterThan(0);

  const mailsAbout = (orderId: string, subject: RegExp) =>
    smtp.mails.filter((m) => m.text.includes(`Order: ${orderId}`) && subject.test(m.headers.subject ?? ""));
  await waitFor(() => smtp.mails.length >= confirmed.length + failed.length, {
    timeoutMs: 60_000,
    what: "an e-mail for every confirmed and failed order",
  });
  // Whatever else is still on its way must not add any: let the consumers drain.
  await waitFor(() => ev.drained("ORDERS", "notification-order-emails"), {
    timeoutMs: 30_000,
    what: "notification drained",
  });
  for (const id of confirmed) expect(mailsAbout(id, /is confirmed$/)).toHaveLength(1);
  for (const id of failed) expect(mailsAbout(id, /did not go through$/)).toHaveLength(1);
  expect(smtp.mails).toHaveLength(confirmed.length + failed.length);

  // Each state change is in the stream once, for all the publish retries around the restart.
  const confirmations = await ev.stored("ORDERS", "orders.confirmed");
  expect(confirmations.map((m) => m.header!.get(CE.subject)).sort()).toEqual([...confirmed].sort());

  for (const service of ["customer", "order", "payment", "inventory"]) {
    const [{ waiting }] = await db.sql.unsafe<{ waiting: number }[]>(
      `select count(*)::int as waiting from "${db.schema(service)}".outbox where published_at is null`,
    );
    expect(`${service}: ${waiting} unpublished`).toBe(`${service}: 0 unpublished`);
  }

  const profile = await waitFor(
    async () => {
      const p = (await (await fetch(`${procs.get("marketing")!.http}/v1/profiles/${customerId}`)).json()) as {
        orders: { confirmed: number; paymentFailed: number };
        spent: { amountMinor: string }[];
      };
      return p.orders?.confirmed === confirmed.length && p.orders.paymentFailed === failed.length ? p : undefined;
    },
    { timeoutMs: 30_000, what: "the marketing profile to count every order" },
  );
  expect(profile!.spent).toEqual([{ currency: "EUR", amountMinor: String(1250 * confirmed.length) }] as never);
  expect(attempted.length).toBeGreaterThanOrEqual(confirmed.length + failed.length);

  // All six, 4 and 5 included: e-mails per confirmation, outboxes, dead letters.
  const { breaches, counts } = await invariantsIn(db, { also: ["customer", "notification", "marketing"], events: ev });
  expect(breaches).toEqual([]);
  expect(counts).toMatchObject({
    "emails.order_confirmed": confirmed.length,
    "outbox.unpublished": 0,
    "dlq.entries": 0,
  });
}, 180_000);
