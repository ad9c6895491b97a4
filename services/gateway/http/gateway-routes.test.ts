// The order routes of the gateway, in memory: the real gateway app (kit app + gateway routes) over a
// fake OrderService through createRouterTransport. Transcoding, the customer's view of orders (own
// orders only) and the mapping of every Connect code to an HTTP status.
import { beforeEach, describe, expect, test } from "bun:test";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createRouterTransport } from "@connectrpc/connect";
import {
  OrderSchema,
  OrderService,
  OrderStatus,
  type CancelOrderRequest,
  type ConfirmOrderRequest,
  type CreateOrderRequest,
  type ListOrdersRequest,
  type Order,
} from "../../contracts/gen/shop/order/v1/order_service_pb";
import { customerTokens } from "../auth/tokens";
import { gatewayConfig } from "../config";
import { EXPOSED_METHODS } from "../domain/exposed-methods";
import { gatewayRoutes } from "./gateway-routes";
import { buildHttpApp } from "../../kit/http";
import { createLogger, createMetrics } from "../../kit";

const secrets = {
  GATEWAY_JWT_SECRET: `${crypto.randomUUID()}${crypto.randomUUID()}`,
  GATEWAY_ADMIN_API_KEY: crypto.randomUUID(),
};
const config = gatewayConfig({ ...secrets, GATEWAY_UPSTREAM_TIMEOUT_MS: "200" });
const tokens = customerTokens({ secret: secrets.GATEWAY_JWT_SECRET, ttlSeconds: 600 });
const ADA = crypto.randomUUID();
const BOB = crypto.randomUUID();
const admin = { "x-api-key": secrets.GATEWAY_ADMIN_API_KEY };

/** What the fake backend was asked, to see exactly what the gateway sent (or that it sent nothing). */
let calls: { method: string; request: unknown }[];
let orders: Map<string, Order>;
/** When set, every call of the fake fails with it. */
let failWith: ConnectError | undefined;

const newOrder = (customerId: string, status = OrderStatus.PENDING) => {
  const o = create(OrderSchema, {
    id: crypto.randomUUID(),
    customerId,
    status,
    lines: [{ productId: "sku-mug", quantity: 2, unitPrice: { amountMinor: 1250n, currency: "EUR" } }],
    total: { amountMinor: 2500n, currency: "EUR" },
    createdAt: timestampFromDate(new Date("2026-01-02T03:04:05Z")),
  });
  orders.set(o.id, o);
  return o;
};

const find = (orderId: string) => {
  const o = orders.get(orderId);
  if (!o) throw new ConnectError(`order ${orderId} not found`, Code.NotFound);
  return o;
};

const backend = createRouterTransport((router) =>
  router.service(OrderService, {
    async createOrder(req: CreateOrderRequest) {
      calls.push({ method: "createOrder", request: req });
      if (failWith) throw failWith;
      if (!req.customerId) throw new ConnectError("customer_id is required", Code.InvalidArgument);
      return { order: newOrder(req.customerId) };
    },
    async getOrder(req) {
      calls.push({ method: "getOrder", request: req });
      if (failWith) throw failWith;
      return { order: find(req.orderId) };
    },
    async listOrders(req: ListOrdersRequest) {
      calls.push({ method: "listOrders", request: req });
      if (failWith) throw failWith;
      return { orders: [...orders.values()].filter((o) => o.customerId === req.customerId), nextPageToken: "" };
    },
    async confirmOrder(req: ConfirmOrderRequest, ctx) {
      calls.push({ method: "confirmOrder", request: req });
      if (req.cardToken === "tok_slow") {
        // Answers only once the caller gave up (its deadline aborts the signal), bounded anyway.
        await new Promise((resolve) => {
          ctx.signal.addEventListener("abort", resolve);
          setTimeout(resolve, 5000);
        });
      }
      if (failWith) throw failWith;
      const o = find(req.orderId);
      o.status = OrderStatus.CONFIRMED;
      o.paymentId = "pay-1";
      return { order: o };
    },
    async cancelOrder(req: CancelOrderRequest) {
      calls.push({ method: "cancelOrder", request: req });
      if (failWith) throw failWith;
      const o = find(req.orderId);
      o.status = OrderStatus.CANCELLED;
      o.statusReason = req.reason;
      return { order: o };
    },
  }),
);

const log = createLogger("gateway-test", "silent");
const app = buildHttpApp({
  rest: gatewayRoutes({
    config,
    exposed: EXPOSED_METHODS,
    transportFor: (service) => {
      if (service !== "order") throw new Error(`unexpected backend ${service}`);
      return backend;
    },
    customerFetch: async () => new Response(null, { status: 500 }),
    log,
    version: "test",
  }),
  metrics: createMetrics("gateway-test"),
  log,
  maxBodyBytes: 1024 * 1024,
});

let adaToken: string;
let bobToken: string;
beforeEach(async () => {
  calls = [];
  orders = new Map();
  failWith = undefined;
  adaToken ??= (await tokens.mint(ADA)).token;
  bobToken ??= (await tokens.mint(BOB)).token;
});

async function request(
  method: string,
  path: string,
  { body, headers = {} }: { body?: unknown; headers?: Record<string, string> } = {},
) {
  const res = await app.request(path, {
    method,
    headers: { "content-type": "application/json", ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, json: (await res.json()) as Record<string, any> };
}
const as = (token: string) => ({ authorization: `Bearer ${token}` });
const methods = () => calls.map((c) => c.method);

describe("CreateOrder: POST /v1/orders (body *)", () => {
  test("a customer's own id is filled in when omitted; the answer is proto3 JSON", async () => {
    const res = await request("POST", "/v1/orders", {
      body: { items: [{ productId: "sku-mug", quantity: 2 }], currency: "EUR" },
      headers: as(adaToken),
    });
    expect(res.status).toBe(200);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.request).toMatchObject({
      customerId: ADA,
      currency: "EUR",
      items: [{ productId: "sku-mug", quantity: 2 }],
    });
    expect(res.json.order).toMatchObject({
      customerId: ADA,
      status: "ORDER_STATUS_PENDING",
      total: { amountMinor: "2500", currency: "EUR" },
      lines: [{ productId: "sku-mug", quantity: 2, unitPrice: { amountMinor: "1250", currency: "EUR" } }],
      createdAt: "2026-01-02T03:04:05Z",
      paymentId: "",
    });
  });

  test("a customer cannot order for someone else: 403, nothing sent", async () => {
    const res = await request("POST", "/v1/orders", {
      body: { customer_id: BOB, items: [{ productId: "sku-mug", quantity: 1 }] },
      headers: as(adaToken),
    });
    expect(res.status).toBe(403);
    expect(res.json).toEqual({
      code: 7,
      status: "PERMISSION_DENIED",
      message: "customer_id must be your own customer id",
    });
    expect(calls).toEqual([]);
  });

  test("an admin orders for anyone; what is missing is refused by the request's rules, the backend not called", async () => {
    const order = { currency: "EUR", items: [{ productId: "sku-mug", quantity: 1 }] };
    expect((await request("POST", "/v1/orders", { body: { ...order, customerId: BOB }, headers: admin })).status).toBe(
      200,
    );
    const before = calls.length;
    const missing = await request("POST", "/v1/orders", { body: { items: [] }, headers: admin });
    expect(missing.status).toBe(400);
    expect(missing.json.message).toBe(
      'customer_id is required; items must not be empty; currency must be one of EUR, USD, GBP, got ""',
    );
    expect(calls.length).toBe(before);
  });

  test("bad input is 400 naming the field, and the backend is not called", async () => {
    const cases: [unknown, string][] = [
      [
        {
          items: [
            { productId: "sku-mug", quantity: 1 },
            { productId: "sku-tee", quantity: "two" },
          ],
        },
        "items[1].quantity:",
      ],
      [{ items: [{ productId: "sku-mug", quantity: 1, colour: "red" }] }, "items[0].colour: unknown field"],
      [{ items: {} }, "items:"],
      [{ currency: 978 }, "currency:"],
    ];
    for (const [body, named] of cases) {
      const res = await request("POST", "/v1/orders", { body, headers: as(adaToken) });
      expect(res.status).toBe(400);
      expect(res.json.status).toBe("INVALID_ARGUMENT");
      expect(res.json.message).toStartWith(named);
    }
    expect(calls).toEqual([]);
  });

  test("no credentials: 401, nothing sent", async () => {
    const res = await request("POST", "/v1/orders", { body: { items: [] } });
    expect(res.status).toBe(401);
    expect(res.json.status).toBe("UNAUTHENTICATED");
    expect(calls).toEqual([]);
  });
});

describe("GetOrder: GET /v1/orders/{order_id}", () => {
  test("a customer gets their own order", async () => {
    const o = newOrder(ADA);
    const res = await request("GET", `/v1/orders/${o.id}`, { headers: as(adaToken) });
    expect(res.status).toBe(200);
    expect(res.json.order.id).toBe(o.id);
    expect(calls[0]!.request).toMatchObject({ orderId: o.id });
  });

  test("someone else's order is answered exactly like one that does not exist", async () => {
    const bobs = newOrder(BOB);
    const other = await request("GET", `/v1/orders/${bobs.id}`, { headers: as(adaToken) });
    const unknownId = crypto.randomUUID();
    const unknown = await request("GET", `/v1/orders/${unknownId}`, { headers: as(adaToken) });
    expect(other.status).toBe(404);
    expect(unknown.status).toBe(404);
    expect(other.json).toEqual({ code: 5, status: "NOT_FOUND", message: `order ${bobs.id} not found` });
    expect(unknown.json).toEqual({ code: 5, status: "NOT_FOUND", message: `order ${unknownId} not found` });
  });

  test("an admin gets anyone's order", async () => {
    const bobs = newOrder(BOB);
    expect((await request("GET", `/v1/orders/${bobs.id}`, { headers: admin })).json.order.customerId).toBe(BOB);
  });
});

describe("ListOrders: GET /v1/customers/{customer_id}/orders", () => {
  test("path and query map onto the request; a customer lists their own", async () => {
    newOrder(ADA);
    newOrder(BOB);
    const res = await request("GET", `/v1/customers/${ADA}/orders?page_size=5&page_token=abc`, {
      headers: as(adaToken),
    });
    expect(res.status).toBe(200);
    expect(calls[0]!.request).toMatchObject({ customerId: ADA, pageSize: 5, pageToken: "abc" });
    expect(res.json.orders.map((o: any) => o.customerId)).toEqual([ADA]);
    expect(res.json.nextPageToken).toBe("");
  });

  test("another customer's list is 403; an admin may list anyone's", async () => {
    const res = await request("GET", `/v1/customers/${BOB}/orders`, { headers: as(adaToken) });
    expect(res.status).toBe(403);
    expect(res.json.status).toBe("PERMISSION_DENIED");
    expect(calls).toEqual([]);
    expect((await request("GET", `/v1/customers/${BOB}/orders`, { headers: admin })).status).toBe(200);
  });

  test("the path variable cannot be overridden from the query, and bad numbers name the field", async () => {
    expect(
      (await request("GET", `/v1/customers/${ADA}/orders?customer_id=${BOB}`, { headers: as(adaToken) })).json.message,
    ).toBe("customer_id: set by the URL path, not a query parameter");
    const bad = await request("GET", `/v1/customers/${ADA}/orders?page_size=lots`, { headers: as(adaToken) });
    expect(bad.status).toBe(400);
    expect(bad.json.message).toStartWith("page_size:");
    expect(calls).toEqual([]);
  });
});

describe("ConfirmOrder and CancelOrder: custom verbs with body *", () => {
  test("the order id comes from the path, the rest from the body (either spelling)", async () => {
    const o = newOrder(ADA);
    const res = await request("POST", `/v1/orders/${o.id}:confirm`, {
      body: { card_token: "tok_success", orderId: "ignored" },
      headers: as(adaToken),
    });
    expect(res.status).toBe(200);
    expect(res.json.order).toMatchObject({ id: o.id, status: "ORDER_STATUS_CONFIRMED", paymentId: "pay-1" });
    // The gateway looked the order up first, then confirmed it.
    expect(methods()).toEqual(["getOrder", "confirmOrder"]);
    expect(calls[1]!.request).toMatchObject({ orderId: o.id, cardToken: "tok_success" });

    const cancelled = await request("POST", `/v1/orders/${o.id}:cancel`, {
      body: { reason: "changed my mind" },
      headers: as(adaToken),
    });
    expect(cancelled.json.order).toMatchObject({ status: "ORDER_STATUS_CANCELLED", statusReason: "changed my mind" });
  });

  test("a customer cannot confirm or cancel someone else's order: 404, and it is not touched", async () => {
    const bobs = newOrder(BOB);
    for (const [verb, body] of [
      ["confirm", { cardToken: "tok_success" }],
      ["cancel", { reason: "mine now" }],
    ] as const) {
      const res = await request("POST", `/v1/orders/${bobs.id}:${verb}`, { body, headers: as(adaToken) });
      expect(res.status).toBe(404);
      expect(res.json.message).toBe(`order ${bobs.id} not found`);
    }
    expect(methods()).toEqual(["getOrder", "getOrder"]);
    expect(orders.get(bobs.id)!.status).toBe(OrderStatus.PENDING);
  });

  test("an admin confirms without the lookup", async () => {
    const bobs = newOrder(BOB);
    expect(
      (await request("POST", `/v1/orders/${bobs.id}:confirm`, { body: { cardToken: "tok_success" }, headers: admin }))
        .status,
    ).toBe(200);
    expect(methods()).toEqual(["confirmOrder"]);
  });

  test("the wrong verb or method is not a route", async () => {
    const o = newOrder(ADA);
    // Without a verb in its template, GET /v1/orders/{order_id} takes "<id>:ship" for an id: the path
    // is known, for GET only.
    const ship = await request("POST", `/v1/orders/${o.id}:ship`, { body: {}, headers: as(adaToken) });
    expect(ship.status).toBe(405);
    expect(ship.headers.get("allow")).toBe("GET");
    // ... which is no order id: refused by GetOrderRequest's rules.
    const get = await request("GET", `/v1/orders/${o.id}:confirm`, { headers: as(adaToken) });
    expect(get.status).toBe(400);
    expect(get.json.message).toBe("order_id must be a UUID");
    const put = await request("PUT", `/v1/orders/${o.id}:confirm`, { body: {}, headers: as(adaToken) });
    expect(put.status).toBe(405);
    expect(put.headers.get("allow")).toBe("POST, GET");
  });

  test("a backend slower than GATEWAY_UPSTREAM_TIMEOUT_MS is 504", async () => {
    const o = newOrder(ADA);
    const started = performance.now();
    const res = await request("POST", `/v1/orders/${o.id}:confirm`, {
      body: { cardToken: "tok_slow" },
      headers: admin,
    });
    expect(res.status).toBe(504);
    expect(res.json.status).toBe("DEADLINE_EXCEEDED");
    expect(performance.now() - started).toBeLessThan(4000);
  });
});

describe("every Connect code maps to its HTTP status, in one error shape", () => {
  const table: [Code, number, string][] = [
    [Code.Canceled, 499, "CANCELED"],
    [Code.Unknown, 500, "UNKNOWN"],
    [Code.InvalidArgument, 400, "INVALID_ARGUMENT"],
    [Code.DeadlineExceeded, 504, "DEADLINE_EXCEEDED"],
    [Code.NotFound, 404, "NOT_FOUND"],
    [Code.AlreadyExists, 409, "ALREADY_EXISTS"],
    [Code.PermissionDenied, 403, "PERMISSION_DENIED"],
    [Code.ResourceExhausted, 429, "RESOURCE_EXHAUSTED"],
    [Code.FailedPrecondition, 400, "FAILED_PRECONDITION"],
    [Code.Aborted, 409, "ABORTED"],
    [Code.OutOfRange, 400, "OUT_OF_RANGE"],
    [Code.Unimplemented, 501, "UNIMPLEMENTED"],
    [Code.Internal, 500, "INTERNAL"],
    [Code.Unavailable, 503, "UNAVAILABLE"],
    [Code.DataLoss, 500, "DATA_LOSS"],
    [Code.Unauthenticated, 401, "UNAUTHENTICATED"],
  ];
  for (const [code, status, name] of table) {
    test(`${name} → ${status}`, async () => {
      failWith = new ConnectError(`secret detail at /srv/db:5432 for ${name}`, code);
      const res = await request("GET", `/v1/customers/${BOB}/orders`, { headers: admin });
      expect(res.status).toBe(status);
      expect(res.json.code).toBe(code);
      expect(res.json.status).toBe(name);
      // Server-side failures keep their details inside; the client's mistakes are explained.
      if (status === 500) expect(res.json.message).toMatch(/^internal error \(request [\w-]+\)$/);
      else expect(res.json.message).toBe(`secret detail at /srv/db:5432 for ${name}`);
      expect(Object.keys(res.json).sort()).toEqual(["code", "message", "status"]);
    });
  }
});
