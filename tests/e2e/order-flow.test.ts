// The order saga across real processes (customer, inventory, payment, order) on the real Postgres,
// finding each other through NATS in a namespace of their own; the invariant checker reads what they wrote.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { InventoryService } from "../../services/contracts/gen/shop/inventory/v1/inventory_service_pb";
import { OrderService, OrderStatus } from "../../services/contracts/gen/shop/order/v1/order_service_pb";
import { PaymentService, PaymentStatus } from "../../services/contracts/gen/shop/payment/v1/payment_service_pb";
import { breachesIn } from "./support/invariants";
import { testPlatform } from "./support/test-platform";
import { waitFor } from "../../services/kit/testing";

const platform = testPlatform("flow", { RESERVATION_SWEEP_MS: "200", CONSUMER_BACKOFF_MS: "100,200,400" });
const { db } = platform;
let orders: Client<typeof OrderService>;
let inventory: Client<typeof InventoryService>;
let payments: Client<typeof PaymentService>;
let customerId: string;

const MUG = "sku-mug";
const TEE = "sku-tee";

async function registerCustomer(base: string): Promise<string> {
  const res = await fetch(`${base}/v1/customers`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: `flow-${crypto.randomUUID()}@example.com`, name: "Flow Tester" }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

async function stockOf(id: string) {
  const { product } = await inventory.getProduct({ productId: id });
  return { stock: product!.stock, reserved: product!.reserved };
}

const errorOf = async (p: Promise<unknown>) =>
  ConnectError.from(
    await p.then(
      () => new Error("expected a failure"),
      (e) => e,
    ),
  );

beforeAll(async () => {
  const [customer, inv, pay, order] = await Promise.all(
    ["customer", "inventory", "payment", "order"].map((name) => platform.start(name)),
  );
  orders = createClient(OrderService, createGrpcTransport({ baseUrl: order!.grpc! }));
  inventory = createClient(InventoryService, createConnectTransport({ baseUrl: inv!.http, httpVersion: "1.1" }));
  payments = createClient(PaymentService, createConnectTransport({ baseUrl: pay!.http, httpVersion: "1.1" }));
  customerId = await registerCustomer(customer!.http);
  await inventory.upsertProduct({
    product: { id: MUG, name: "Mug", price: { amountMinor: 1250n, currency: "EUR" }, stock: 100_000 },
  });
  await inventory.upsertProduct({
    product: { id: TEE, name: "T-shirt", price: { amountMinor: 1999n, currency: "EUR" }, stock: 100_000 },
  });
});

afterAll(async () => {
  await platform.stop();
});

/** The stock of both products, as it is now. */
const stockNow = () => Promise.all([stockOf(MUG), stockOf(TEE)]);
/** ConfirmOrder's answer: the order as it then is. */
const confirm = async (orderId: string, cardToken: string) =>
  (await orders.confirmOrder({ orderId, cardToken })).order!;

/** An order placed and confirmed with this card token: the stock before it, its id, and what the confirm answered. */
async function placeAndConfirm(cardToken: string) {
  const before = await stockNow();
  const { order } = await place();
  return { before, orderId: order!.id, answer: await confirm(order!.id, cardToken) };
}

const place = () =>
  orders.createOrder({
    customerId,
    currency: "EUR",
    items: [
      { productId: MUG, quantity: 2 },
      { productId: TEE, quantity: 1 },
    ],
  });

describe("one order at a time", () => {
  test("create → confirm with the success token → CONFIRMED, stock taken, one captured payment", async () => {
    const before = await stockNow();
    const { order } = await place();
    expect(order).toMatchObject({
      status: OrderStatus.PENDING,
      customerId,
      total: { amountMinor: 2n * 1250n + 1999n, currency: "EUR" },
    });
    const confirmed = await confirm(order!.id, "tok_success");
    expect(confirmed.status).toBe(OrderStatus.CONFIRMED);
    expect(confirmed.paymentId).not.toBe("");
    const { payment } = await payments.getPaymentStatus({ paymentId: confirmed.paymentId });
    expect(payment).toMatchObject({
      status: PaymentStatus.CAPTURED,
      orderId: order!.id,
      amount: { amountMinor: 4499n },
    });
    expect(await stockOf(MUG)).toEqual({ stock: before[0]!.stock - 2, reserved: before[0]!.reserved });
    expect(await stockOf(TEE)).toEqual({ stock: before[1]!.stock - 1, reserved: before[1]!.reserved });
    expect((await orders.getOrder({ orderId: order!.id })).order?.status).toBe(OrderStatus.CONFIRMED);
    // Confirming again changes nothing.
    expect((await orders.confirmOrder({ orderId: order!.id, cardToken: "tok_success" })).order?.paymentId).toBe(
      confirmed.paymentId,
    );
  });

  test("tok_declined → PAYMENT_FAILED with the stock back where it was", async () => {
    const { before, orderId, answer: failed } = await placeAndConfirm("tok_declined");
    expect(failed.status).toBe(OrderStatus.PAYMENT_FAILED);
    expect(failed.statusReason).toContain("card declined by issuer");
    expect(await stockNow()).toEqual(before);
    expect((await errorOf(orders.confirmOrder({ orderId, cardToken: "tok_success" }))).code).toBe(
      Code.FailedPrecondition,
    );
  });

  test("tok_transient: retries spent → PAYMENT_PENDING, then the asynchronous charge fails it and the stock comes back", async () => {
    const { before, orderId, answer: waiting } = await placeAndConfirm("tok_transient");
    expect(waiting.status).toBe(OrderStatus.PAYMENT_PENDING);
    const failed = await waitFor(
      async () => {
        const o = (await orders.getOrder({ orderId })).order!;
        return o.status === OrderStatus.PAYMENT_PENDING ? undefined : o;
      },
      { timeoutMs: 20_000, what: "the asynchronous charge to settle" },
    );
    expect(failed.status).toBe(OrderStatus.PAYMENT_FAILED);
    expect(failed.statusReason).toContain("provider unavailable after 3 attempts");
    expect(await stockNow()).toEqual(before);
  });

  test("cancel: a pending order is just cancelled; a confirmed one is refunded; a cancelled one cannot be confirmed", async () => {
    const pending = (await place()).order!;
    expect((await orders.cancelOrder({ orderId: pending.id, reason: "changed my mind" })).order).toMatchObject({
      status: OrderStatus.CANCELLED,
      statusReason: "changed my mind",
    });
    const refused = await errorOf(orders.confirmOrder({ orderId: pending.id, cardToken: "tok_success" }));
    expect(refused.code).toBe(Code.FailedPrecondition);
    expect(refused.rawMessage).toContain("cancelled");

    const paid = await confirm((await place()).order!.id, "tok_success");
    const cancelled = (await orders.cancelOrder({ orderId: paid.id, reason: "" })).order!;
    expect(cancelled.status).toBe(OrderStatus.CANCELLED);
    expect((await payments.getPaymentStatus({ paymentId: paid.paymentId })).payment?.status).toBe(
      PaymentStatus.REFUNDED,
    );
    expect((await orders.cancelOrder({ orderId: paid.id, reason: "" })).order?.status).toBe(OrderStatus.CANCELLED);
  });

  test("out of stock: confirm is refused and nothing is held", async () => {
    await inventory.upsertProduct({
      product: { id: "sku-rare", name: "Rare", price: { amountMinor: 500n, currency: "EUR" }, stock: 1 },
    });
    const a = (
      await orders.createOrder({ customerId, currency: "EUR", items: [{ productId: "sku-rare", quantity: 1 }] })
    ).order!;
    const b = (
      await orders.createOrder({ customerId, currency: "EUR", items: [{ productId: "sku-rare", quantity: 1 }] })
    ).order!;
    expect((await orders.confirmOrder({ orderId: a.id, cardToken: "tok_success" })).order?.status).toBe(
      OrderStatus.CONFIRMED,
    );
    const refused = await errorOf(orders.confirmOrder({ orderId: b.id, cardToken: "tok_success" }));
    expect(refused.code).toBe(Code.FailedPrecondition);
    expect(refused.rawMessage).toContain("sku-rare");
    expect((await orders.getOrder({ orderId: b.id })).order?.status).toBe(OrderStatus.PENDING);
    expect(await stockOf("sku-rare")).toEqual({ stock: 0, reserved: 0 });
  });

  test("two confirms of one order race: one charge, one CONFIRMED", async () => {
    const { order } = await place();
    const results = await Promise.allSettled(
      [1, 2, 3].map(() => orders.confirmOrder({ orderId: order!.id, cardToken: "tok_success" })),
    );
    for (const r of results) {
      if (r.status === "fulfilled") expect(r.value.order?.status).toBe(OrderStatus.CONFIRMED);
      else expect(ConnectError.from(r.reason).code).toBe(Code.Aborted); // the order was busy: retryable
    }
    expect(results.some((r) => r.status === "fulfilled")).toBe(true);
    const rows = await db.sql.unsafe(`select state from "${db.schema("payment")}".payments where order_id = $1`, [
      order!.id,
    ]);
    expect(rows.map((r) => r.state)).toEqual(["captured"]);
  });

  test("ListOrders pages through a customer's orders, newest first", async () => {
    const other = await registerCustomer(platform.proc("customer").http);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push(
        (await orders.createOrder({ customerId: other, currency: "EUR", items: [{ productId: MUG, quantity: 1 }] }))
          .order!.id,
      );
    const seen: string[] = [];
    let pageToken = "";
    do {
      const page = await orders.listOrders({ customerId: other, pageSize: 2, pageToken });
      expect(page.orders.length).toBeLessThanOrEqual(2);
      seen.push(...page.orders.map((o) => o.id));
      pageToken = page.nextPageToken;
    } while (pageToken);
    expect(seen).toEqual(ids.reverse());
    expect((await errorOf(orders.listOrders({ customerId: other, pageToken: "garbage" }))).code).toBe(
      Code.InvalidArgument,
    );
  });
});

describe("bad input is refused, naming the field, and writes nothing", () => {
  const cases: [string, () => Promise<unknown>, Code, string][] = [
    [
      "customer that does not exist",
      () =>
        orders.createOrder({
          customerId: crypto.randomUUID(),
          currency: "EUR",
          items: [{ productId: MUG, quantity: 1 }],
        }),
      Code.NotFound,
      "customer",
    ],
    [
      "customer id that is not an id",
      () => orders.createOrder({ customerId: "bob", currency: "EUR", items: [{ productId: MUG, quantity: 1 }] }),
      Code.InvalidArgument,
      "customer_id",
    ],
    ["no items", () => orders.createOrder({ customerId, currency: "EUR", items: [] }), Code.InvalidArgument, "items"],
    [
      "zero quantity",
      () => orders.createOrder({ customerId, currency: "EUR", items: [{ productId: MUG, quantity: 0 }] }),
      Code.InvalidArgument,
      "items[0].quantity",
    ],
    [
      "negative quantity",
      () => orders.createOrder({ customerId, currency: "EUR", items: [{ productId: MUG, quantity: -3 }] }),
      Code.InvalidArgument,
      "items[0].quantity",
    ],
    [
      "absurd quantity",
      () => orders.createOrder({ customerId, currency: "EUR", items: [{ productId: MUG, quantity: 1_000_000 }] }),
      Code.InvalidArgument,
      "items[0].quantity",
    ],
    [
      "unknown product",
      () => orders.createOrder({ customerId, currency: "EUR", items: [{ productId: "sku-nothing", quantity: 1 }] }),
      Code.NotFound,
      "sku-nothing",
    ],
    [
      "wrong currency",
      () => orders.createOrder({ customerId, currency: "JPY", items: [{ productId: MUG, quantity: 1 }] }),
      Code.InvalidArgument,
      "currency",
    ],
    [
      "currency the products are not priced in",
      () => orders.createOrder({ customerId, currency: "USD", items: [{ productId: MUG, quantity: 1 }] }),
      Code.InvalidArgument,
      "currency",
    ],
    [
      "confirm without a card token",
      () => place().then(({ order }) => orders.confirmOrder({ orderId: order!.id, cardToken: "" })),
      Code.InvalidArgument,
      "card_token",
    ],
    [
      "confirm an order id that is not an id",
      () => orders.confirmOrder({ orderId: "42", cardToken: "tok_success" }),
      Code.InvalidArgument,
      "order_id",
    ],
    [
      "confirm an order that does not exist",
      () => orders.confirmOrder({ orderId: crypto.randomUUID(), cardToken: "tok_success" }),
      Code.NotFound,
      "not found",
    ],
  ];
  for (const [name, call, code, mention] of cases) {
    test(name, async () => {
      const count = async () =>
        Number((await db.sql.unsafe(`select count(*) from "${db.schema("order")}".orders`))[0]!.count);
      const before = await count();
      const err = await errorOf(call());
      expect(Code[err.code]).toBe(Code[code]);
      expect(err.rawMessage).toContain(mention);
      // The "confirm without a card token" case placed one valid order first.
      expect(await count()).toBe(before + (name.startsWith("confirm without") ? 1 : 0));
    });
  }
});

test("500 mixed orders placed concurrently leave every invariant intact", async () => {
  const before = await stockNow();
  const tokens = ["tok_success", "tok_declined", "tok_transient", "cancel"] as const;
  const outcomes: Record<string, number> = {};
  const placed: { id: string; kind: string }[] = [];
  let next = 0;
  const worker = async () => {
    while (next < 500) {
      const i = next++;
      const kind = tokens[i % tokens.length]!;
      const { order } = await orders.createOrder({
        customerId,
        currency: "EUR",
        items: [
          { productId: MUG, quantity: 1 + (i % 3) },
          { productId: TEE, quantity: 1 },
        ],
      });
      placed.push({ id: order!.id, kind });
      const final =
        kind === "cancel"
          ? (await orders.cancelOrder({ orderId: order!.id, reason: "load test" })).order!
          : await confirm(order!.id, kind);
      outcomes[`${kind}:${OrderStatus[final.status]}`] = (outcomes[`${kind}:${OrderStatus[final.status]}`] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: 25 }, worker));
  // Answers may be PAYMENT_PENDING (retries spent on the transient token, or the breaker opened by them);
  // those settle asynchronously. Every order must end where its token says.
  const finals = await waitFor(
    async () => {
      const rows = await db.sql.unsafe<{ id: string; state: string }[]>(
        `select id, state from "${db.schema("order")}".orders where id = any($1::uuid[])`,
        [placed.map((p) => p.id)],
      );
      return rows.some((r) => r.state === "payment_pending" || r.state === "reserved")
        ? undefined
        : new Map(rows.map((r) => [r.id, r.state]));
    },
    { timeoutMs: 60_000, intervalMs: 250, what: "every order of the run to leave PAYMENT_PENDING" },
  );
  const ended: Record<string, number> = {};
  for (const p of placed) ended[`${p.kind}:${finals.get(p.id)}`] = (ended[`${p.kind}:${finals.get(p.id)}`] ?? 0) + 1;
  expect(ended).toEqual({
    "tok_success:confirmed": 125,
    "tok_declined:payment_failed": 125,
    "tok_transient:payment_failed": 125,
    "cancel:cancelled": 125,
  });
  expect(Object.keys(outcomes).every((k) => !k.endsWith(":RESERVED") && !k.endsWith(":PENDING"))).toBe(true);

  // Confirmed orders i ≡ 0 (mod 4) took 1 + (i mod 3) mugs and one tee each.
  let mugs = 0;
  for (let i = 0; i < 500; i += 4) mugs += 1 + (i % 3);
  expect(await stockOf(MUG)).toEqual({ stock: before[0]!.stock - mugs, reserved: 0 });
  expect(await stockOf(TEE)).toEqual({ stock: before[1]!.stock - 125, reserved: 0 });

  expect(await breachesIn(db)).toEqual([]);
}, 240_000); // 1000 saga steps across four processes: minutes on a busy 2-core machine

test("the invariant checker notices a breach", async () => {
  const inv = db.schema("inventory");
  await db.sql.unsafe(`alter table "${inv}".products drop constraint if exists products_reserved_within_stock`);
  await db.sql.unsafe(`update "${inv}".products set reserved = reserved + 1 where id = $1`, [TEE]);
  try {
    const breaches = await breachesIn(db);
    expect(breaches).toContainEqual({
      invariant: 1,
      subject: `product ${TEE}`,
      problem: expect.stringContaining("active reservations hold"),
    });
  } finally {
    await db.sql.unsafe(`update "${inv}".products set reserved = reserved - 1 where id = $1`, [TEE]);
  }
});
