// The gateway as clients meet it: REST/JSON transcoded from the google.api.http annotations onto
// Connect calls to a real inventory (and the customer REST service), found through NATS in a namespace
// of this file's own, on the real Postgres. Auth, errors, OpenAPI, the body limit and the rate limit.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sign } from "hono/jwt";
import { startServiceProcess, waitFor, type ServiceProcess, testSchemas, runToExit } from "../../services/kit/testing";

const namespace = `gw${crypto.randomUUID().slice(0, 8)}`;
const JWT_SECRET = `jwt-${crypto.randomUUID()}-${crypto.randomUUID()}`;
const ADMIN_KEY = `admin-${crypto.randomUUID()}`;
const MAX_BODY = 2048;
const schemas = testSchemas();
const procs: ServiceProcess[] = [];
let gateway: ServiceProcess;
let inventory: ServiceProcess;
/** A product id unique to this run (ids are lowercase letters, digits and '-'). */
const sku = (name: string) => `${name}-${namespace}`;

const gatewayEnv = (extra: Record<string, string> = {}) => ({
  PLATFORM_NAMESPACE: namespace,
  GATEWAY_JWT_SECRET: JWT_SECRET,
  GATEWAY_ADMIN_API_KEY: ADMIN_KEY,
  GATEWAY_MAX_BODY_BYTES: String(MAX_BODY),
  // The tests below make many calls from one address; the rate limit has a test of its own.
  GATEWAY_RATE_LIMIT_RPS: "10000",
  GATEWAY_RATE_LIMIT_BURST: "10000",
  ...extra,
});

beforeAll(async () => {
  const started = await Promise.all([
    startServiceProcess("inventory", { env: { ...schemas.env("inventory"), PLATFORM_NAMESPACE: namespace } }),
    startServiceProcess("customer", { env: { ...schemas.env("customer"), PLATFORM_NAMESPACE: namespace } }),
    startServiceProcess("gateway", { env: gatewayEnv() }),
  ]);
  procs.push(...started);
  [inventory, , gateway] = started;
});

afterAll(async () => {
  const codes = await Promise.all(procs.map((p) => p.stop()));
  await schemas.drop();
  expect(codes.every((c) => c === 0)).toBe(true);
});

type Json = Record<string, any>;

async function call(
  method: string,
  path: string,
  { body, headers = {}, base = gateway.http }: { body?: unknown; headers?: Record<string, string>; base?: string } = {},
) {
  const res = await fetch(base + path, {
    method,
    headers: { ...(body !== undefined ? { "content-type": "application/json" } : {}), ...headers },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: Json | undefined;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: res.status, headers: res.headers, json: json as Json, text };
}

/** POST /v1/inventory:check with these items, written as a client writes them. */
const checkInventory = (...items: Json[]) => call("POST", "/v1/inventory:check", { body: { items } });

const admin = { "x-api-key": ADMIN_KEY };
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const product = (name: string, priceMinor: string, stock: number) => ({
  name,
  price: { amountMinor: priceMinor, currency: "EUR" },
  stock,
});

/** Calls inventory handled, by method, from its own /metrics (all result codes together). */
async function inventoryCalls(method: string): Promise<number> {
  const text = await (await fetch(`${inventory.http}/metrics`)).text();
  let total = 0;
  for (const line of text.split("\n")) {
    if (
      line.startsWith("rpc_server_duration_seconds_count") &&
      line.includes(`method="shop.inventory.v1.InventoryService/${method}"`)
    )
      total += Number(line.split(" ").at(-1));
  }
  return total;
}

async function productRows(id: string): Promise<number> {
  const [row] = await schemas.sql.unsafe(
    `select count(*)::int as n from "${schemas.schema("inventory")}".products where id = $1`,
    [id],
  );
  return row!.n as number;
}

/** A customer registered through the gateway, with the token it answered. */
async function registerCustomer() {
  const email = `gw-${crypto.randomUUID()}@example.com`;
  const res = await call("POST", "/v1/customers", { body: { email, name: "Gateway Tester" } });
  expect(res.status).toBe(201);
  return { id: res.json.customer.id as string, email, token: res.json.token as string, json: res.json };
}

describe("transcoding onto the inventory service", () => {
  test("PUT /v1/products/{product.id} (body: product) as admin, then GET /v1/products/{product_id}", async () => {
    const id = sku("mug");
    const put = await call("PUT", `/v1/products/${id}`, { body: product("Mug", "1250", 5), headers: admin });
    expect(put.status).toBe(200);
    // Proto3 JSON: the id comes from the path, int64 as a string, every field present.
    expect(put.json).toEqual({
      product: { id, name: "Mug", price: { amountMinor: "1250", currency: "EUR" }, stock: 5, reserved: 0 },
    });

    const get = await call("GET", `/v1/products/${id}`);
    expect(get.status).toBe(200);
    expect(get.json.product).toEqual(put.json.product);
  });

  test("proto field names are accepted as well as JSON names, and the path wins over the body", async () => {
    const id = sku("cap");
    const put = await call("PUT", `/v1/products/${id}`, {
      body: { id: "some-other-id", name: "Cap", price: { amount_minor: "1800", currency: "EUR" }, stock: 2 },
      headers: admin,
    });
    expect(put.status).toBe(200);
    expect(put.json.product).toMatchObject({ id, price: { amountMinor: "1800" } });
    expect(await productRows("some-other-id")).toBe(0);
  });

  test("GET /v1/products?page_size=.. pages through the products with page_token", async () => {
    for (const n of [1, 2, 3])
      expect(
        (await call("PUT", `/v1/products/${sku(`page${n}`)}`, { body: product(`Page ${n}`, "100", n), headers: admin }))
          .status,
      ).toBe(200);
    const seen: string[] = [];
    let token = "";
    for (let pages = 0; pages < 10; pages++) {
      const res = await call(
        "GET",
        `/v1/products?page_size=2${token ? `&page_token=${encodeURIComponent(token)}` : ""}`,
      );
      expect(res.status).toBe(200);
      expect(res.json.products.length).toBeLessThanOrEqual(2);
      seen.push(...res.json.products.map((p: Json) => p.id));
      token = res.json.nextPageToken;
      if (!token) break;
    }
    for (const n of [1, 2, 3]) expect(seen).toContain(sku(`page${n}`));
    expect(new Set(seen).size).toBe(seen.length);
    // The JSON name works in the query string too.
    const camel = await call("GET", "/v1/products?pageSize=1");
    expect(camel.status).toBe(200);
    expect(camel.json.products).toHaveLength(1);
  });

  test("POST /v1/inventory:check (a custom verb, body *) reports availability", async () => {
    const [tee, hat] = [sku("tee"), sku("hat")];
    await call("PUT", `/v1/products/${tee}`, { body: product("T-shirt", "1999", 4), headers: admin });
    await call("PUT", `/v1/products/${hat}`, { body: product("Hat", "900", 1), headers: admin });
    const res = await checkInventory({ productId: tee, quantity: 3 }, { product_id: hat, quantity: 5 });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      items: [
        {
          productId: tee,
          requested: 3,
          available: 4,
          sufficient: true,
          unitPrice: { amountMinor: "1999", currency: "EUR" },
        },
        {
          productId: hat,
          requested: 5,
          available: 1,
          sufficient: false,
          unitPrice: { amountMinor: "900", currency: "EUR" },
        },
      ],
      allAvailable: false,
    });
  });

  test("the exposed routes only: reservations are internal, another method on a known path is 405", async () => {
    const reserve = await call("POST", "/v1/reservations", { body: { orderId: "o", items: [] }, headers: admin });
    expect(reserve.status).toBe(404);
    expect(reserve.json).toMatchObject({ code: 5, status: "NOT_FOUND" });
    const del = await call("DELETE", `/v1/products/${sku("mug")}`, { headers: admin });
    expect(del.status).toBe(405);
    expect(del.headers.get("allow")).toBe("GET, PUT");
  });
});

describe("errors", () => {
  test("an unknown product is 404 NOT_FOUND in the error shape", async () => {
    const res = await call("GET", `/v1/products/${sku("nothing")}`);
    expect(res.status).toBe(404);
    expect(res.json).toEqual({ code: 5, status: "NOT_FOUND", message: `product ${sku("nothing")} not found` });
  });

  test("bad input is 400 naming the field; the backend is not called and nothing is written", async () => {
    const id = sku("bad");
    const before = await inventoryCalls("UpsertProduct");
    const cases: [unknown, string][] = [
      [{ ...product("Bad", "abc", 1) }, "product.price.amount_minor"],
      [{ ...product("Bad", "100", 1), stock: "many" }, "product.stock"],
      [{ ...product("Bad", "100", 1), colour: "red" }, "product.colour: unknown field"],
      ["{not json", "the body is not valid JSON"],
    ];
    for (const [body, named] of cases) {
      const res = await call("PUT", `/v1/products/${id}`, { body, headers: admin });
      expect(res.status).toBe(400);
      expect(res.json.code).toBe(3);
      expect(res.json.status).toBe("INVALID_ARGUMENT");
      expect(res.json.message).toContain(named);
    }
    const query = await call("GET", "/v1/products?page_size=ten");
    expect(query.status).toBe(400);
    expect(query.json.message).toStartWith("page_size:");
    const unknown = await call("GET", "/v1/products?colour=red");
    expect(unknown.status).toBe(400);
    expect(unknown.json.message).toStartWith("colour:");
    const item = await checkInventory({ productId: id, quantity: 1 }, { productId: id, quantity: 1.5 });
    expect(item.status).toBe(400);
    expect(item.json.message).toStartWith("items[1].quantity:");

    expect(await inventoryCalls("UpsertProduct")).toBe(before);
    expect(await productRows(id)).toBe(0);
  });

  test("the backend's own InvalidArgument comes through as 400 with its message", async () => {
    const res = await call("PUT", `/v1/products/${sku("neg")}`, { body: product("Neg", "100", -1), headers: admin });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({
      code: 3,
      status: "INVALID_ARGUMENT",
      message: expect.stringContaining("product.stock"),
    });
    expect(await productRows(sku("neg"))).toBe(0);
  });

  test("a backend that is not running is 503 UNAVAILABLE", async () => {
    // No order service runs in this file's namespace.
    const res = await call("GET", `/v1/orders/${crypto.randomUUID()}`, { headers: admin });
    expect(res.status).toBe(503);
    expect(res.json).toMatchObject({ code: 14, status: "UNAVAILABLE" });
    expect(res.text).not.toContain("    at ");
  });
});

describe("auth", () => {
  test("no credentials: 401 with WWW-Authenticate; public reads need none", async () => {
    const res = await call("PUT", `/v1/products/${sku("anon")}`, { body: product("Anon", "100", 1) });
    expect(res.status).toBe(401);
    expect(res.json).toMatchObject({ code: 16, status: "UNAUTHENTICATED" });
    expect(res.headers.get("www-authenticate")).toContain("Bearer");
    expect((await call("GET", "/v1/orders/x")).status).toBe(401);
    expect((await call("GET", "/v1/products?page_size=1")).status).toBe(200);
    expect(await productRows(sku("anon"))).toBe(0);
  });

  test("a customer token cannot upsert (403), a wrong API key or a forged token is 401", async () => {
    const { token } = await registerCustomer();
    const asCustomer = await call("PUT", `/v1/products/${sku("cust")}`, {
      body: product("Cust", "100", 1),
      headers: bearer(token),
    });
    expect(asCustomer.status).toBe(403);
    expect(asCustomer.json).toMatchObject({ code: 7, status: "PERMISSION_DENIED" });
    expect(await productRows(sku("cust"))).toBe(0);
    expect((await call("GET", "/v1/services", { headers: bearer(token) })).status).toBe(403);

    expect(
      (
        await call("PUT", `/v1/products/${sku("cust")}`, {
          body: product("Cust", "100", 1),
          headers: { "x-api-key": `${ADMIN_KEY}x` },
        })
      ).status,
    ).toBe(401);
    const forged = await sign(
      { sub: crypto.randomUUID(), role: "customer", iss: "shop-gateway", exp: Math.floor(Date.now() / 1000) + 60 },
      "x".repeat(40),
      "HS256",
    );
    // Bad credentials are refused even where none are needed.
    const forgedRead = await call("GET", "/v1/products?page_size=1", { headers: bearer(forged) });
    expect(forgedRead.status).toBe(401);
    expect(forgedRead.json.status).toBe("UNAUTHENTICATED");
    expect((await call("GET", "/v1/products", { headers: { authorization: "Basic YTpi" } })).status).toBe(401);
  });

  test("a token of another role is 403; an expired token is 401", async () => {
    const now = Math.floor(Date.now() / 1000);
    const otherRole = await sign(
      { sub: "x", role: "admin", iss: "shop-gateway", iat: now, exp: now + 60 },
      JWT_SECRET,
      "HS256",
    );
    const res = await call("PUT", `/v1/products/${sku("role")}`, {
      body: product("Role", "100", 1),
      headers: bearer(otherRole),
    });
    expect(res.status).toBe(403);
    expect(res.json.message).toContain('role "admin"');
    const expired = await sign(
      { sub: crypto.randomUUID(), role: "customer", iss: "shop-gateway", iat: now - 120, exp: now - 60 },
      JWT_SECRET,
      "HS256",
    );
    const old = await call("GET", "/v1/customers/me", { headers: bearer(expired) });
    expect(old.status).toBe(401);
    expect(old.json.message).toContain("expired");
  });

  test("POST /v1/customers answers the customer and a token; GET /v1/customers/me answers it back", async () => {
    const { id, email, token, json } = await registerCustomer();
    expect(json.customer).toMatchObject({ id, email, name: "Gateway Tester" });
    expect(Date.parse(json.expiresAt)).toBeGreaterThan(Date.now() + 86_000_000);
    const me = await call("GET", "/v1/customers/me", { headers: bearer(token) });
    expect(me.status).toBe(200);
    expect(me.json).toMatchObject({ id, email });
    expect((await call("GET", "/v1/customers/me")).status).toBe(401);

    const again = await call("POST", "/v1/customers", { body: { email, name: "Twice" } });
    expect(again.status).toBe(409);
    expect(again.json).toMatchObject({ code: 6, status: "ALREADY_EXISTS" });
    const bad = await call("POST", "/v1/customers", { body: { email: "not-an-address", name: "X" } });
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ status: "INVALID_ARGUMENT", message: expect.stringContaining("email") });
  });

  test("POST /v1/tokens: an admin mints a token for an existing customer; nobody else may", async () => {
    const { id, token: own } = await registerCustomer();
    const minted = await call("POST", "/v1/tokens", { body: { customerId: id }, headers: admin });
    expect(minted.status).toBe(201);
    expect(minted.json.customerId).toBe(id);
    expect((await call("GET", "/v1/customers/me", { headers: bearer(minted.json.token) })).json.id).toBe(id);

    expect((await call("POST", "/v1/tokens", { body: { customerId: id }, headers: bearer(own) })).status).toBe(403);
    expect((await call("POST", "/v1/tokens", { body: { customerId: id } })).status).toBe(401);
    const unknown = await call("POST", "/v1/tokens", { body: { customerId: crypto.randomUUID() }, headers: admin });
    expect(unknown.status).toBe(404);
    expect(unknown.json.status).toBe("NOT_FOUND");
    const bad = await call("POST", "/v1/tokens", { body: { customerId: "nope" }, headers: admin });
    expect(bad.status).toBe(400);
    expect(bad.json.message).toContain("customerId");
  });

  test("POST /v1/tokens by e-mail: a customer who signed up before gets a token again (admin only)", async () => {
    const { id, email, token: own } = await registerCustomer();
    const minted = await call("POST", "/v1/tokens", { body: { email: email.toUpperCase() }, headers: admin });
    expect(minted.status).toBe(201);
    expect(minted.json.customerId).toBe(id);
    expect((await call("GET", "/v1/customers/me", { headers: bearer(minted.json.token) })).json.id).toBe(id);
    expect((await call("POST", "/v1/tokens", { body: { email }, headers: bearer(own) })).status).toBe(403);
    expect((await call("POST", "/v1/tokens", { body: { email } })).status).toBe(401);
    const unknown = await call("POST", "/v1/tokens", { body: { email: `nobody-${id}@example.com` }, headers: admin });
    expect(unknown.status).toBe(404);
    expect((await call("POST", "/v1/tokens", { body: {}, headers: admin })).json.message).toContain(
      "customerId (or email) is required",
    );
  });
});

test("GET /openapi.json describes the annotated routes from the descriptors", async () => {
  const res = await call("GET", "/openapi.json");
  expect(res.status).toBe(200);
  const doc = res.json;
  expect(doc.openapi).toBe("3.1.0");
  for (const [path, method] of [
    ["/v1/products/{product_id}", "get"],
    ["/v1/products/{product_id}", "put"],
    ["/v1/products", "get"],
    ["/v1/inventory:check", "post"],
    ["/v1/orders", "post"],
    ["/v1/orders/{order_id}", "get"],
    ["/v1/customers/{customer_id}/orders", "get"],
    ["/v1/orders/{order_id}:confirm", "post"],
    ["/v1/orders/{order_id}:cancel", "post"],
    ["/v1/customers", "post"],
    ["/v1/tokens", "post"],
  ] as const)
    expect(doc.paths[path]?.[method]).toBeDefined();
  // Internal methods are not described.
  expect(Object.keys(doc.paths).some((p) => p.includes("reservations") || p.includes("payments"))).toBe(false);

  const list = doc.paths["/v1/products"].get;
  expect(list.security).toEqual([]);
  expect(list.parameters).toEqual(
    expect.arrayContaining([
      expect.objectContaining({
        name: "page_size",
        in: "query",
        schema: { type: "integer", format: "int32", minimum: 0 },
      }),
    ]),
  );
  const upsert = doc.paths["/v1/products/{product_id}"].put;
  expect(upsert.security).toEqual([{ adminApiKey: [] }]);
  expect(upsert.parameters[0]).toMatchObject({
    name: "product_id",
    in: "path",
    required: true,
    description: "sets product.id",
  });
  // The product, its id given by the path: the body need not repeat it.
  expect(upsert.requestBody.content["application/json"].schema).toMatchObject({
    title: "Product",
    required: ["name", "price"],
  });
  const confirm = doc.paths["/v1/orders/{order_id}:confirm"].post;
  expect(confirm.security).toEqual([{ bearerAuth: [] }, { adminApiKey: [] }]);
  // The path carries order_id, so the body is the rest of the message.
  expect(Object.keys(confirm.requestBody.content["application/json"].schema.properties)).toEqual(["cardToken"]);

  const schemasDoc = doc.components.schemas;
  expect(schemasDoc["shop.common.v1.Money"].properties.amountMinor).toMatchObject({ type: "string", format: "int64" });
  expect(schemasDoc["shop.order.v1.OrderStatus"]).toMatchObject({
    type: "string",
    enum: expect.arrayContaining(["ORDER_STATUS_CONFIRMED"]),
  });
  expect(schemasDoc["shop.order.v1.Order"].properties.createdAt).toEqual({ type: "string", format: "date-time" });
  expect(doc.components.securitySchemes).toMatchObject({
    bearerAuth: { type: "http", scheme: "bearer", bearerFormat: "JWT" },
    adminApiKey: { type: "apiKey", in: "header", name: "X-API-Key" },
  });
  // Every $ref points at a schema that is there.
  for (const ref of JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g))
    expect(schemasDoc[ref[1]!]).toBeDefined();
});

test("a body over GATEWAY_MAX_BODY_BYTES is 413 in the error shape, and nothing is written", async () => {
  const id = sku("huge");
  const res = await call("PUT", `/v1/products/${id}`, {
    body: product("x".repeat(MAX_BODY), "100", 1),
    headers: admin,
  });
  expect(res.status).toBe(413);
  expect(res.json).toMatchObject({
    code: 8,
    status: "RESOURCE_EXHAUSTED",
    message: expect.stringContaining(String(MAX_BODY)),
  });
  expect(await productRows(id)).toBe(0);
});

test("over the rate limit: 429 with Retry-After and the error shape, counted per client", async () => {
  const limited = await startServiceProcess("gateway", {
    env: gatewayEnv({ GATEWAY_RATE_LIMIT_RPS: "1", GATEWAY_RATE_LIMIT_BURST: "3" }),
  });
  procs.push(limited);
  const statuses: number[] = [];
  let refused: Awaited<ReturnType<typeof call>> | undefined;
  for (let i = 0; i < 4; i++) {
    const res = await call("GET", "/v1/products?page_size=1", { base: limited.http });
    statuses.push(res.status);
    if (res.status === 429) refused = res;
  }
  // A burst of 3; a refill takes a second, far longer than four local calls.
  expect(statuses).toEqual([200, 200, 200, 429]);
  expect(refused!.headers.get("retry-after")).toBe("1");
  expect(refused!.json).toEqual({
    code: 8,
    status: "RESOURCE_EXHAUSTED",
    message: expect.stringContaining("rate limit"),
  });
  // The admin is another client with a bucket of its own.
  expect((await call("GET", "/v1/products?page_size=1", { base: limited.http, headers: admin })).status).toBe(200);
  // And the bucket refills.
  await waitFor(async () => (await call("GET", "/v1/products?page_size=1", { base: limited.http })).status === 200, {
    timeoutMs: 5000,
    intervalMs: 300,
    what: "a refill",
  });
});

test("accounts signed up by one address share its bucket: five of them get a burst between them, not five; sign-ups are limited per address", async () => {
  const limited = await startServiceProcess("gateway", {
    env: gatewayEnv({
      GATEWAY_RATE_LIMIT_RPS: "1",
      GATEWAY_RATE_LIMIT_BURST: "20",
      GATEWAY_SIGNUP_RATE_PER_MINUTE: "1",
      GATEWAY_SIGNUP_BURST: "8",
    }),
  });
  procs.push(limited);
  const signUps: number[] = [];
  const tokens: string[] = [];
  for (let i = 0; i < 10; i++) {
    const res = await call("POST", "/v1/customers", {
      base: limited.http,
      body: { email: `burst-${i}-${crypto.randomUUID()}@example.com`, name: `Burst ${i}` },
    });
    signUps.push(res.status);
    if (res.status === 201) tokens.push(res.json.token);
  }
  // Eight sign-ups (the burst), then 429 (they also took from the address bucket: 10 of its 20).
  expect(signUps).toEqual([...Array(8).fill(201), 429, 429]);
  let passed = 0;
  for (let i = 0; i < 100; i++) {
    const res = await call("GET", "/v1/customers/me", {
      base: limited.http,
      headers: { authorization: `Bearer ${tokens[i % 5]}` },
    });
    if (res.status === 200) passed++;
    else expect(res.status).toBe(429);
  }
  // What the address had left (about 10), not 5 × 20.
  expect(passed).toBeGreaterThan(0);
  expect(passed).toBeLessThanOrEqual(13);
});

test("GET /v1/services (admins only); probes, metrics and RPC health only on the operations port, never the public one", async () => {
  // The instance list shows internal URLs: nobody else gets it.
  const anonymous = await call("GET", "/v1/services");
  expect(anonymous.status).toBe(401);
  expect(anonymous.json).toEqual({
    code: 16,
    status: "UNAUTHENTICATED",
    message: expect.stringContaining("X-API-Key"),
  });
  const res = await call("GET", "/v1/services", { headers: admin });
  expect(res.status).toBe(200);
  const ids = res.json.instances.map((i: Json) => i.id);
  expect(ids).toEqual(expect.arrayContaining([gateway.id, inventory.id]));
  expect(res.json.instances.every((i: Json) => i.namespace === namespace)).toBe(true);
  // The public port: the API only (a /metrics flood once slowed every client down, before auth and limits).
  for (const path of ["/healthz", "/readyz", "/metrics"])
    expect(`${path} ${(await call("GET", path)).status}`).toBe(`${path} 404`);
  const health = await fetch(`${gateway.http}/grpc.health.v1.Health/Check`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: "{}",
  });
  expect(health.status).toBe(404);
  // The operations port (loopback): probes, metrics, health.
  expect(gateway.ops).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  expect((await call("GET", "/healthz", { base: gateway.ops })).status).toBe(200);
  expect((await call("GET", "/readyz", { base: gateway.ops })).status).toBe(200);
  const metrics = await call("GET", "/metrics", { base: gateway.ops });
  expect(metrics.status).toBe(200);
  expect(metrics.text).toMatch(
    /gateway_requests_total\{[^}]*rpc="shop\.inventory\.v1\.InventoryService\/GetProduct"[^}]*status="200"/,
  );
  const opsHealth = await fetch(`${gateway.ops}/grpc.health.v1.Health/Check`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: "{}",
  });
  expect(opsHealth.status).toBe(200);
});

const runGatewayToExit = (env: Record<string, string>) =>
  runToExit(["bun", "services/gateway/main.ts"], {
    env: { GATEWAY_HTTP_PORT: "0", PLATFORM_NAMESPACE: namespace, ...env },
    timeoutMs: 20_000,
  });

test("credentials in NATS_URL never reach an error: an unreachable NATS, a malformed URL", async () => {
  const secrets = { GATEWAY_JWT_SECRET: JWT_SECRET, GATEWAY_ADMIN_API_KEY: ADMIN_KEY };
  const unreachable = await runGatewayToExit({ ...secrets, NATS_URL: "nats://svc:hunter2@127.0.0.1:1" });
  expect(unreachable.code).toBe(1);
  expect(unreachable.stderr).toContain("NATS_URL=nats://svc:***@127.0.0.1:1");
  const malformed = await runGatewayToExit({ ...secrets, NATS_URL: "http://svc:hunter2@127.0.0.1:4222" });
  expect(malformed.code).toBe(1);
  expect(malformed.stderr).toContain('NATS_URL="http://svc:***@127.0.0.1:4222"');
  for (const run of [unreachable, malformed]) expect(run.stderr).not.toContain("hunter2");
});

test("the gateway refuses to start without its secrets, and never prints them", async () => {
  const missing = await runGatewayToExit({ GATEWAY_JWT_SECRET: "", GATEWAY_ADMIN_API_KEY: "" });
  expect(missing.code).toBe(1);
  expect(missing.stderr).toContain("GATEWAY_JWT_SECRET is required");
  expect(missing.stderr).toContain("GATEWAY_ADMIN_API_KEY is required");

  const short = await runGatewayToExit({ GATEWAY_JWT_SECRET: "short-secret-value", GATEWAY_ADMIN_API_KEY: ADMIN_KEY });
  expect(short.code).toBe(1);
  expect(short.stderr).toContain("GATEWAY_JWT_SECRET is not a random secret of at least 32 characters");
  expect(short.stderr).toContain("it is too short (18 characters; at least 32)");
  expect(short.stderr).not.toContain("short-secret-value");

  // The example file's values, and a long but predictable key: refused, never printed.
  const placeholder = await runGatewayToExit({
    GATEWAY_JWT_SECRET: "change-me-to-at-least-32-random-characters",
    GATEWAY_ADMIN_API_KEY: "a".repeat(40),
  });
  expect(placeholder.code).toBe(1);
  expect(placeholder.stderr).toContain("GATEWAY_JWT_SECRET is not a random secret");
  expect(placeholder.stderr).toContain("placeholder");
  expect(placeholder.stderr).toContain("GATEWAY_ADMIN_API_KEY is not a random secret");
  expect(placeholder.stderr).toContain("too predictable");
  expect(placeholder.stderr).not.toContain("change-me");
});
