// Hostile input, as an attacker on the same network sends it, against real processes: every probe is
// refused with a 4xx (InvalidArgument) naming the field, writes nothing, and never answers with SQL text.
// (Before: a NUL in a name, an e-mail, a product name or a page token answered 500; a 900 KB product
// name was stored and went out in every ListProducts; a page token for year +200000 returned the SQL.)
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { InventoryService } from "../../services/contracts/gen/shop/inventory/v1/inventory_service_pb";
import { OrderService } from "../../services/contracts/gen/shop/order/v1/order_service_pb";
import { PaymentService } from "../../services/contracts/gen/shop/payment/v1/payment_service_pb";
import { testPlatform } from "./support/test-platform";

const platform = testPlatform("hostile");
const { db } = platform;
let inventory: Client<typeof InventoryService>;
let orders: Client<typeof OrderService>;
let payments: Client<typeof PaymentService>;

beforeAll(async () => {
  await Promise.all(["customer", "inventory", "payment", "order", "gateway"].map((name) => platform.start(name)));
  const connect = (name: string) => createConnectTransport({ baseUrl: platform.proc(name).http, httpVersion: "1.1" });
  inventory = createClient(InventoryService, connect("inventory"));
  orders = createClient(OrderService, connect("order"));
  payments = createClient(PaymentService, connect("payment"));
});

afterAll(async () => {
  await platform.stop();
});

const count = async (service: string, table: string) =>
  Number((await db.sql.unsafe(`select count(*) as n from "${db.schema(service)}".${table}`))[0]!.n);
const refused = async (call: Promise<unknown>) =>
  ConnectError.from(
    await call.then(
      () => new Error("expected a refusal"),
      (e) => e,
    ),
  );
const noSql = (message: string) => expect(message).not.toMatch(/select|insert|update|params:|Failed query/i);

test("sign-up with a NUL or another control character in the name or the e-mail: 400 naming the field, no customer written", async () => {
  const gw = platform.proc("gateway").http;
  const before = await count("customer", "customers");
  for (const [body, field] of [
    [{ email: "ada@example.com", name: "Ada\u0000" }, "name"],
    [{ email: "ada\u0000@example.com", name: "Ada" }, "email"],
    [{ email: "ada@example.com", name: "Ada\u001b[31m" }, "name"],
  ] as const) {
    const res = await fetch(`${gw}/v1/customers`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    expect(`${res.status} ${text}`).toContain("400");
    expect(text).toContain(field);
    noSql(text);
  }
  expect(await count("customer", "customers")).toBe(before);
});

test("a product name with a NUL, or of 900 KB: InvalidArgument naming product.name, nothing written", async () => {
  for (const name of ["Mug\u0000", "M".repeat(900 * 1024)]) {
    const err = await refused(
      inventory.upsertProduct({
        product: { id: "sku-hostile", name, price: { amountMinor: 100n, currency: "EUR" }, stock: 1 },
      }),
    );
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toContain("product.name");
  }
  expect(await count("inventory", "products")).toBe(0);
});

test("page tokens: a NUL, garbage, or a cursor far outside what Postgres holds: InvalidArgument, no SQL in the answer", async () => {
  const far = Buffer.from(JSON.stringify(["+200000-01-01T00:00:00.000Z", crypto.randomUUID()])).toString("base64url");
  for (const pageToken of [far, "\u0000", "%%%"]) {
    const err = await refused(orders.listOrders({ customerId: crypto.randomUUID(), pageToken }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toContain("page_token");
    noSql(err.rawMessage);
  }
  const err = await refused(inventory.listProducts({ pageToken: "sku\u0000" }));
  expect(err.code).toBe(Code.InvalidArgument);
  expect(err.rawMessage).toContain("page_token");
});

test("payment: a charge for an order id the order service never makes, a card token with a NUL: refused, nothing stored", async () => {
  const before = await count("payment", "payments");
  const base = {
    amount: { amountMinor: 100n, currency: "EUR" },
    cardToken: "tok_success",
    idempotencyKey: crypto.randomUUID(),
  };
  expect((await refused(payments.processPayment({ ...base, orderId: "o-1" }))).rawMessage).toContain("order_id");
  expect(
    (await refused(payments.processPayment({ ...base, orderId: crypto.randomUUID(), cardToken: "tok\u0000" })))
      .rawMessage,
  ).toContain("card_token");
  expect(await count("payment", "payments")).toBe(before);
});

test("cancel reason with a NUL, a card token of 10 KB: InvalidArgument naming the field", async () => {
  const id = crypto.randomUUID();
  expect((await refused(orders.cancelOrder({ orderId: id, reason: "bye\u0000" }))).rawMessage).toContain("reason");
  expect((await refused(orders.confirmOrder({ orderId: id, cardToken: "t".repeat(10_000) }))).rawMessage).toContain(
    "card_token",
  );
});
