// The README's walk-through, end to end: through the gateway with plain HTTP (what curl sends), and
// through the generated Connect client, against real customer, inventory, payment and order processes.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { breachesIn } from "./support/invariants";
import { testPlatform } from "./support/test-platform";
import { runToExit } from "../../services/kit/testing";

const platform = testPlatform("gwflow");
const { db, gatewaySecrets: secrets } = platform;
let gw: string;

beforeAll(async () => {
  await Promise.all(["customer", "inventory", "payment", "order", "gateway"].map((name) => platform.start(name)));
  gw = platform.proc("gateway").http;
  for (const [id, name, price] of [
    ["sku-mug", "Mug", "1200"],
    ["sku-tee", "T-shirt", "1999"],
  ] as const) {
    const res = await fetch(`${gw}/v1/products/${id}`, {
      method: "PUT",
      headers: { "x-api-key": secrets.GATEWAY_ADMIN_API_KEY, "content-type": "application/json" },
      body: JSON.stringify({ name, price: { amountMinor: price, currency: "EUR" }, stock: 10 }),
    });
    expect(res.status).toBe(200);
  }
});
afterAll(async () => {
  await platform.stop();
});

const call = async (method: string, path: string, { token, body }: { token?: string; body?: unknown } = {}) => {
  const res = await fetch(`${gw}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body ? { "content-type": "application/json" } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: (await res.json()) as any };
};
const stock = async (id: string) => (await call("GET", `/v1/products/${id}`)).body.product;

async function signUp(name: string) {
  const { status, body } = await call("POST", "/v1/customers", {
    body: { email: `${name}-${crypto.randomUUID()}@example.com`, name },
  });
  expect(status).toBe(201);
  return { id: body.customer.id as string, token: body.token as string };
}

test("curl through the gateway: success → CONFIRMED; declined → PAYMENT_FAILED with the stock back", async () => {
  const ada = await signUp("ada");
  const items = [
    { productId: "sku-mug", quantity: 2 },
    { productId: "sku-tee", quantity: 1 },
  ];

  const placed = await call("POST", "/v1/orders", { token: ada.token, body: { items, currency: "EUR" } });
  expect(placed.status).toBe(200);
  expect(placed.body.order).toMatchObject({
    customerId: ada.id,
    status: "ORDER_STATUS_PENDING",
    total: { amountMinor: "4399", currency: "EUR" },
  });
  const confirmed = await call("POST", `/v1/orders/${placed.body.order.id}:confirm`, {
    token: ada.token,
    body: { cardToken: "tok_success" },
  });
  expect(confirmed.body.order.status).toBe("ORDER_STATUS_CONFIRMED");
  expect((await call("GET", `/v1/orders/${placed.body.order.id}`, { token: ada.token })).body.order.status).toBe(
    "ORDER_STATUS_CONFIRMED",
  );
  expect(await stock("sku-mug")).toMatchObject({ stock: 8, reserved: 0 });

  const second = await call("POST", "/v1/orders", { token: ada.token, body: { items, currency: "EUR" } });
  const declined = await call("POST", `/v1/orders/${second.body.order.id}:confirm`, {
    token: ada.token,
    body: { cardToken: "tok_declined" },
  });
  expect(declined.body.order).toMatchObject({
    status: "ORDER_STATUS_PAYMENT_FAILED",
    statusReason: "card declined by issuer",
  });
  expect(await stock("sku-mug")).toMatchObject({ stock: 8, reserved: 0 });
  expect(await stock("sku-tee")).toMatchObject({ stock: 9, reserved: 0 });

  // Confirming it again is a state error, 400 as gRPC-HTTP maps FAILED_PRECONDITION.
  const again = await call("POST", `/v1/orders/${second.body.order.id}:confirm`, {
    token: ada.token,
    body: { cardToken: "tok_success" },
  });
  expect(again.status).toBe(400);
  expect(again.body).toMatchObject({ code: 9, status: "FAILED_PRECONDITION" });

  // Listing is per customer; cancelling a confirmed order refunds it.
  const list = await call("GET", `/v1/customers/${ada.id}/orders?page_size=1`, { token: ada.token });
  expect(list.body.orders).toHaveLength(1);
  expect(list.body.nextPageToken).not.toBe("");
  const cancelled = await call("POST", `/v1/orders/${placed.body.order.id}:cancel`, {
    token: ada.token,
    body: { reason: "changed my mind" },
  });
  expect(cancelled.body.order.status).toBe("ORDER_STATUS_CANCELLED");
});

test("customers see only their own orders", async () => {
  const [ada, bob] = await Promise.all([signUp("ada"), signUp("bob")]);
  const placed = await call("POST", "/v1/orders", {
    token: ada.token,
    body: { items: [{ productId: "sku-mug", quantity: 1 }], currency: "EUR" },
  });
  const id = placed.body.order.id;
  expect((await call("GET", `/v1/orders/${id}`, { token: bob.token })).status).toBe(404);
  expect((await call("POST", `/v1/orders/${id}:cancel`, { token: bob.token, body: {} })).status).toBe(404);
  expect((await call("GET", `/v1/customers/${ada.id}/orders`, { token: bob.token })).status).toBe(403);
  expect((await call("GET", `/v1/orders/${id}`)).status).toBe(401);
  expect((await call("GET", `/v1/orders/${id}`, { token: ada.token })).body.order.status).toBe("ORDER_STATUS_PENDING");
});

test("bad input at the gateway is a 400 naming the field, and no order is written", async () => {
  const ada = await signUp("ada");
  const count = async () =>
    Number((await db.sql.unsafe(`select count(*) from "${db.schema("order")}".orders`))[0]!.count);
  const before = await count();
  for (const [body, field] of [
    [{ items: [{ productId: "sku-mug", quantity: "two" }], currency: "EUR" }, "items[0].quantity"],
    [{ items: [{ productId: "sku-mug", quantity: 0 }], currency: "EUR" }, "items[0].quantity"],
    [{ items: [{ productId: "sku-mug", quantity: 1 }], currency: "XYZ" }, "currency"],
    [{ items: [], currency: "EUR" }, "items"],
  ] as const) {
    const res = await call("POST", "/v1/orders", { token: ada.token, body });
    expect(res.status).toBe(400);
    expect(res.body.message).toContain(field);
  }
  expect(
    (
      await call("POST", "/v1/orders", {
        token: ada.token,
        body: { items: [{ productId: "sku-gone", quantity: 1 }], currency: "EUR" },
      })
    ).status,
  ).toBe(404);
  expect(await count()).toBe(before);
});

test("the generated Connect client example places, confirms and fetches an order", async () => {
  const ada = await signUp("ada");
  const {
    stdout: out,
    stderr: err,
    code,
  } = await runToExit(["bun", "examples/place-order.ts", ada.id, "tok_success"], {
    env: { ORDER_URL: platform.proc("order").http },
  });
  expect(err).toBe("");
  expect(code).toBe(0);
  expect(out).toMatch(
    /^placed [0-9a-f-]{36}: PENDING, total 4399 EUR\nconfirmed with tok_success: CONFIRMED\nfetched: CONFIRMED, payment [0-9a-f-]{36}\n$/,
  );

  expect(await breachesIn(db)).toEqual([]);
});

test("the Connect client example on a bad or unknown customer id: one line saying what is wrong, no stack", async () => {
  const run = (id: string) =>
    runToExit(["bun", "examples/place-order.ts", id], { env: { ORDER_URL: platform.proc("order").http } });
  const bad = await run("ada");
  expect(bad.code).toBe(2);
  expect(bad.stderr.split("\n")[0]).toBe(`place-order: "ada" is not a customer id (a UUID, e.g. from bun run seed)`);
  const unknown = await run(crypto.randomUUID());
  expect(unknown.code).toBe(1);
  expect(unknown.stderr.trim().split("\n")).toHaveLength(1);
  expect(unknown.stderr).toMatch(/^place-order: (NotFound|InvalidArgument|FailedPrecondition): .*customer/);
  expect(unknown.stderr).not.toContain("    at ");
});
