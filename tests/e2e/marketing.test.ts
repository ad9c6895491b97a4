// Marketing as real processes (two replicas) building behaviour profiles from the customer service's
// CustomerRegistered and from order events on JetStream, on the real Postgres.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { headers as natsHeaders } from "@nats-io/transport-node";
import { CE } from "../../services/kit/events";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { OrderStatus } from "../../services/contracts/gen/shop/order/v1/order_service_pb";
import { CustomerRegistered } from "../../services/customer/contract/events";
import { OrderCancelled, OrderConfirmed, OrderCreated, OrderPaymentFailed } from "../../services/order/contract/events";
import {
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
let customer: ServiceProcess;
const marketing: ServiceProcess[] = [];

beforeAll(async () => {
  db = testSchemas();
  ev = await testEventStreams();
  customer = await startServiceProcess("customer", { env: { ...db.env("customer"), ...ev.env } });
  const env = { ...db.env("marketing"), ...ev.env, CONSUMER_BACKOFF_MS: "200", CONSUMER_MAX_DELIVER: "3" };
  marketing.push(...(await Promise.all([1, 2].map(() => startServiceProcess("marketing", { env })))));
});

afterAll(async () => {
  await Promise.all([customer, ...marketing].filter(Boolean).map((p) => p.stop()));
  await ev?.drop();
  await db?.drop();
});

type Profile = {
  customerId: string;
  registeredAt: string | null;
  orders: { placed: number; confirmed: number; cancelled: number; paymentFailed: number };
  spent: { currency: string; amountMinor: string }[];
  lastActivity: string;
  segments: string[];
};

const profileOf = async (id: string) => {
  const res = await fetch(`${marketing[0]!.http}/v1/profiles/${id}`);
  return res.status === 200 ? ((await res.json()) as Profile) : undefined;
};

const drained = async () => {
  for (const [stream, consumer] of [
    ["ORDERS", "marketing-order-profiles"],
    ["CUSTOMERS", "marketing-customer-profiles"],
  ] as const) {
    const info = await ev.jsm.consumers.info(ev.names.stream(stream), consumer);
    if (info.num_pending !== 0 || info.num_ack_pending !== 0) return false;
  }
  return true;
};

async function register(name: string) {
  const res = await fetch(`${customer.http}/v1/customers`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: `${name}-${crypto.randomUUID().slice(0, 8)}@example.com`, name }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

const order = (customerId: string, amountMinor: bigint) => ({
  id: crypto.randomUUID(),
  customerId,
  lines: [{ productId: "sku-mug", quantity: 1, unitPrice: { amountMinor, currency: "EUR" } }],
  total: { amountMinor, currency: "EUR" },
});
const at = (iso: string) => ({ source: "/shop/order", time: new Date(iso) });

describe("behaviour profiles", () => {
  test("a registration starts a profile: a new customer who has not bought yet", async () => {
    const id = await register("ada");
    const p = (await waitFor(() => profileOf(id), { timeoutMs: 10_000, what: "the profile" }))!;
    expect(p).toMatchObject({
      customerId: id,
      orders: { placed: 0, confirmed: 0, cancelled: 0, paymentFailed: 0 },
      spent: [],
      segments: ["new_customer", "no_purchase_yet"],
    });
    expect(Date.now() - new Date(p.registeredAt!).getTime()).toBeLessThan(60_000);
  });

  test("orders placed, confirmed, failed and refunded move counters, net spend and segments, each event counted once", async () => {
    const id = await register("bob");
    const small = order(id, 4499n);
    const big = order(id, 60_000n);
    await ev.publish(OrderCreated, { order: small }, at("2030-01-01T10:00:00Z"));
    await ev.publish(OrderConfirmed, { order: small }, at("2030-01-01T10:01:00Z"));
    await ev.publish(OrderCreated, { order: big }, at("2030-01-02T10:00:00Z"));
    const confirmedBig = await ev.publish(OrderConfirmed, { order: big }, at("2030-01-02T10:01:00Z"));
    await ev.publish(OrderPaymentFailed, { order: order(id, 100n), reason: "declined" }, at("2030-01-01T09:00:00Z"));
    await ev.publish(OrderPaymentFailed, { order: order(id, 100n), reason: "declined" }, at("2030-01-01T09:30:00Z"));
    // The big confirmation again, as a new message: the inbox keeps it from counting twice.
    const [stored] = (await ev.stored("ORDERS", "orders.confirmed")).filter(
      (m) => m.header?.get(CE.id) === confirmedBig.id,
    );
    const h = natsHeaders();
    for (const k of stored!.header!.keys()) if (k !== "Nats-Msg-Id") h.set(k, stored!.header!.get(k));
    await ev.js.publish(stored!.subject, stored!.data, { headers: h });
    await waitFor(drained, { timeoutMs: 10_000, what: "the order events handled" });

    const p = (await profileOf(id))!;
    expect(p.orders).toEqual({ placed: 2, confirmed: 2, cancelled: 0, paymentFailed: 2 });
    expect(p.spent).toEqual([{ currency: "EUR", amountMinor: "64499" }]);
    // The newest event's time, whatever order they were handled in.
    expect(p.lastActivity).toBe("2030-01-02T10:01:00.000Z");
    expect(p.segments).toEqual(["new_customer", "repeat_buyer", "high_value", "payment_trouble"]);

    await ev.publish(
      OrderCancelled,
      { order: big, reason: "returned", refunded: big.total },
      at("2030-01-03T10:00:00Z"),
    );
    await waitFor(async () => (await profileOf(id))!.orders.cancelled === 1, {
      timeoutMs: 10_000,
      what: "the cancellation",
    });
    const after = (await profileOf(id))!;
    expect(after.spent).toEqual([{ currency: "EUR", amountMinor: "4499" }]);
    expect(after.segments).not.toContain("high_value");
  });

  test("an order refunded before it was confirmed (its reservation ran out while the charge landed) takes off no spend it never added", async () => {
    const id = await register("carol");
    const kept = order(id, 3000n);
    const lost = order(id, 7000n);
    await ev.publish(OrderConfirmed, { order: kept }, at("2030-03-01T10:00:00Z"));
    await ev.publish(
      OrderCancelled,
      {
        order: lost,
        reason: "reservation lost before confirmation",
        refunded: lost.total,
        previousStatus: OrderStatus.PAYMENT_PENDING,
      },
      at("2030-03-01T10:01:00Z"),
    );
    // Two orders, two entities: their events may be handled in either order, in one batch or two.
    await waitFor(
      async () => {
        const orders = (await profileOf(id))?.orders;
        return orders?.cancelled === 1 && orders.confirmed === 1;
      },
      { timeoutMs: 10_000, what: "the confirmation and the cancellation" },
    );
    expect((await profileOf(id))!.spent).toEqual([{ currency: "EUR", amountMinor: "3000" }]);
    // A confirmed order cancelled later gives its spend back.
    await ev.publish(
      OrderCancelled,
      { order: kept, reason: "returned", refunded: kept.total, previousStatus: OrderStatus.CONFIRMED },
      at("2030-03-02T10:00:00Z"),
    );
    await waitFor(async () => (await profileOf(id))?.orders.cancelled === 2, {
      timeoutMs: 10_000,
      what: "the second cancellation",
    });
    expect((await profileOf(id))!.spent).toEqual([{ currency: "EUR", amountMinor: "0" }]);
  });

  test("order events of a customer whose registration comes later still count, and the registration fills in", async () => {
    const id = crypto.randomUUID();
    await ev.publish(OrderConfirmed, { order: order(id, 1000n) }, at("2030-02-01T10:00:00Z"));
    const early = await waitFor(() => profileOf(id), { timeoutMs: 10_000, what: "the profile from orders" });
    expect(early).toMatchObject({ registeredAt: null, orders: { confirmed: 1 }, segments: ["first_time_buyer"] });
    const registeredAt = new Date();
    await ev.publish(
      CustomerRegistered,
      { customer: { id, email: "late@example.com", name: "Late", createdAt: timestampFromDate(registeredAt) } },
      { source: "/shop/customer" },
    );
    const filled = await waitFor(async () => ((await profileOf(id))!.registeredAt ? profileOf(id) : undefined), {
      timeoutMs: 10_000,
      what: "the registration",
    });
    expect(filled).toMatchObject({
      registeredAt: registeredAt.toISOString(),
      orders: { confirmed: 1 },
      segments: ["new_customer", "first_time_buyer"],
    });
  });

  test("forty confirmations at once over two replicas: every one counted, the spend exact", async () => {
    const id = await register("cy");
    await waitFor(() => profileOf(id), { timeoutMs: 10_000, what: "the profile" });
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        ev.publish(OrderConfirmed, { order: order(id, BigInt(100 + i)) }, { source: "/shop/order" }),
      ),
    );
    await waitFor(async () => (await profileOf(id))!.orders.confirmed === 40, {
      timeoutMs: 20_000,
      what: "forty confirmations",
    });
    await waitFor(drained, { timeoutMs: 10_000, what: "all handled" });
    const p = (await profileOf(id))!;
    expect(p.orders.confirmed).toBe(40);
    expect(p.spent).toEqual([{ currency: "EUR", amountMinor: String(40 * 100 + (39 * 40) / 2) }]);
    // The two replicas' logs together account for every one of them.
    const handled = marketing
      .flatMap((m) => m.logs)
      .filter(
        (l) =>
          l.msg === "event handled" &&
          l.consumer === "marketing-order-profiles" &&
          l.event_type === OrderConfirmed.type,
      );
    expect(handled.length).toBeGreaterThanOrEqual(40);
  });

  test("an order event without a usable customer id is a dead letter at once, with the reason", async () => {
    const { id } = await ev.publish(OrderConfirmed, { order: { id: crypto.randomUUID(), customerId: "nobody" } });
    const letter = await waitFor(
      async () =>
        (await ev.deadLetters.list()).find((l) => l.eventId === id && l.consumer === "marketing-order-profiles"),
      { timeoutMs: 10_000, what: "the dead letter" },
    );
    expect(letter).toMatchObject({
      kind: "terminated",
      deliveries: 1,
      reason: "invalid shop.order.v1.OrderConfirmed: order.customer_id must be a UUID",
    });
  });

  test("bad and unknown ids: 400 naming the parameter, 404", async () => {
    const bad = await fetch(`${marketing[0]!.http}/v1/profiles/not-a-uuid`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toContain("customerId");
    expect((await fetch(`${marketing[1]!.http}/v1/profiles/${crypto.randomUUID()}`)).status).toBe(404);
  });
});
