// One trace from the client's request to the last e-mail, on real processes: seven services export their
// spans over OTLP/HTTP (some protobuf, some JSON) to a receiver in this test, which decodes what the real
// exporters sent. A dead-lettered event's deliveries and its dead letter are on its trace, and a replay
// continues it; a service with the SDK disabled sends nothing.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { testPlatform } from "./support/test-platform";
import { CE } from "../../services/kit/events";
import {
  runToExit,
  startOtlpReceiver,
  testSchemas,
  waitFor,
  type OtlpReceiver,
  type ReceivedSpan,
} from "../../services/kit/testing";
import { startSmtpTestServer, type SmtpTestServer } from "../../services/notification/testing/smtp-test-server";

const SERVICES = ["customer", "inventory", "payment", "order", "gateway", "notification", "marketing"];
const MAX_DELIVER = 3;

let receiver: OtlpReceiver;
let smtp: SmtpTestServer;
const platform = testPlatform("trace", {
  OTEL_BSP_SCHEDULE_DELAY: "100",
  CONSUMER_BACKOFF_MS: "200,400",
  CONSUMER_MAX_DELIVER: String(MAX_DELIVER),
});
let gw: string;

beforeAll(async () => {
  receiver = startOtlpReceiver();
  smtp = await startSmtpTestServer();
  // Both encodings the OTLP/HTTP exporters speak, in one trace.
  const json = new Set(["payment", "gateway", "marketing"]);
  await Promise.all(
    SERVICES.map((name) =>
      platform.start(name, {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: json.has(name) ? "http/json" : "http/protobuf",
        ...(name === "notification" ? { SMTP_URL: smtp.url } : {}),
        ...(name === "order" ? { LOG_LEVEL: "debug" } : {}),
      }),
    ),
  );
  gw = platform.proc("gateway").http;
  const res = await fetch(`${gw}/v1/products/sku-lamp`, {
    method: "PUT",
    headers: { "x-api-key": platform.gatewaySecrets.GATEWAY_ADMIN_API_KEY, "content-type": "application/json" },
    body: JSON.stringify({ name: "Lamp", price: { amountMinor: "2500", currency: "EUR" }, stock: 100 }),
  });
  expect(res.status).toBe(200);
});

afterAll(async () => {
  await platform.stop();
  await smtp?.close();
  receiver?.stop();
});

const hex = (bytes: number) => Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("hex");

/** A client's own trace: each request a span of it, as an instrumented client would send. */
function clientTrace() {
  const traceId = hex(16);
  const spans: string[] = [];
  return {
    traceId,
    spans,
    headers() {
      const span = hex(8);
      spans.push(span);
      return { traceparent: `00-${traceId}-${span}-01` };
    },
  };
}

async function call(method: string, path: string, opts: { token?: string; body?: unknown; headers?: object } = {}) {
  const res = await fetch(`${gw}${path}`, {
    method,
    headers: {
      ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
      ...(opts.body ? { "content-type": "application/json" } : {}),
      ...opts.headers,
    },
    body: opts.body ? JSON.stringify(opts.body) : undefined,
  });
  return { status: res.status, traceId: res.headers.get("x-trace-id"), body: (await res.json()) as any };
}

async function signUp() {
  const { status, body } = await call("POST", "/v1/customers", {
    body: { email: `ada-${crypto.randomUUID()}@example.com`, name: "Ada" },
  });
  expect(status).toBe(201);
  // Notification mails only customers it has a copy of.
  await waitFor(
    async () =>
      (
        await platform.db.sql.unsafe(`select 1 from "${platform.db.schema("notification")}".customers where id = $1`, [
          body.customer.id,
        ])
      ).length === 1,
    { timeoutMs: 15_000, what: "notification's copy of the customer" },
  );
  return { id: body.customer.id as string, token: body.token as string };
}

/** Places and confirms an order under the client's trace; the order's id. */
async function placeAndConfirm(client: ReturnType<typeof clientTrace>, token: string) {
  const placed = await call("POST", "/v1/orders", {
    token,
    headers: client.headers(),
    body: { items: [{ productId: "sku-lamp", quantity: 1 }], currency: "EUR" },
  });
  expect(placed.status).toBe(200);
  expect(placed.traceId).toBe(client.traceId);
  const confirmed = await call("POST", `/v1/orders/${placed.body.order.id}:confirm`, {
    token,
    headers: client.headers(),
    body: { cardToken: "tok_success" },
  });
  expect(confirmed.body.order.status).toBe("ORDER_STATUS_CONFIRMED");
  expect(confirmed.traceId).toBe(client.traceId);
  return placed.body.order.id as string;
}

/** Spans whose parent is neither in the trace nor one of the client's own. */
const orphans = (spans: ReceivedSpan[], clientSpans: string[]) => {
  const ids = new Set([...spans.map((s) => s.spanId), ...clientSpans]);
  return spans.filter((s) => s.parentSpanId !== "" && !ids.has(s.parentSpanId));
};

const named = (spans: ReceivedSpan[], service: string, name: string | RegExp) =>
  spans.filter((s) => s.service === service && (typeof name === "string" ? s.name === name : name.test(s.name)));

describe("tracing across the platform", () => {
  test("an order placed and confirmed through the gateway is one trace: seven services, parents intact, to the e-mail", async () => {
    smtp.accept();
    const ada = await signUp();
    const client = clientTrace();
    const orderId = await placeAndConfirm(client, ada.token);

    await waitFor(
      () => {
        const spans = receiver.trace(client.traceId);
        return (
          SERVICES.every((s) => spans.some((x) => x.service === s)) &&
          named(spans, "notification", "mail send").length === 1 &&
          named(spans, "marketing", /^process /).length >= 1 &&
          orphans(spans, client.spans).length === 0
        );
      },
      { timeoutMs: 20_000, what: "the order's spans from all seven services, every parent among them" },
    ).catch((e) => {
      const spans = receiver.trace(client.traceId);
      console.error(spans.map((s) => `${s.service} ${s.name} ${s.spanId} <- ${s.parentSpanId}`).join("\n"));
      throw e;
    });
    const spans = receiver.trace(client.traceId);
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const parentOf = (s: ReceivedSpan) => byId.get(s.parentSpanId);

    // The gateway's REST spans are the children of the client's, by route.
    const rest = named(spans, "gateway", /^POST \/v1\/orders/);
    expect(rest.map((s) => s.name).sort()).toEqual(["POST /v1/orders", "POST /v1/orders/{order_id}:confirm"].sort());
    for (const s of rest) {
      expect(s.kind).toBe(2);
      expect(client.spans).toContain(s.parentSpanId);
      expect(s.attributes["http.response.status_code"]).toBe(200);
    }

    // Order's server spans are children of the gateway's client attempts.
    for (const method of ["CreateOrder", "ConfirmOrder"]) {
      const [server] = named(spans, "order", `shop.order.v1.OrderService/${method}`);
      expect(server?.kind).toBe(2);
      expect(server!.attributes["rpc.method"]).toBe(method);
      const attempt = parentOf(server!)!;
      expect(attempt).toMatchObject({ service: "gateway", kind: 3 });
    }

    // Order called inventory and payment (RPC) and customer (REST), each from an attempt span of its own.
    for (const [service, path] of [
      ["inventory", /^shop\.inventory\.v1\.InventoryService\//],
      ["payment", "shop.payment.v1.PaymentService/ProcessPayment"],
      ["customer", /^GET \/v1\/customers\/:id$/], // REST
    ] as const) {
      const servers = named(spans, service, path).filter((s) => s.kind === 2);
      expect(servers.length).toBeGreaterThan(0);
      for (const s of servers) expect(parentOf(s)).toMatchObject({ service: "order", kind: 3 });
    }

    // The saga's transactions, and the event: created in order's transaction, sent by its relay, processed
    // by notification and marketing as children of the send.
    expect(named(spans, "order", /^record order /).length).toBeGreaterThan(0);
    const [create] = named(spans, "order", /^create .*orders\.confirmed$/);
    expect(create).toMatchObject({ kind: 4 });
    expect(create!.attributes["messaging.message.id"]).toBeString();
    const [send] = named(spans, "order", /^send .*orders\.confirmed$/);
    expect(send!.parentSpanId).toBe(create!.spanId);
    const processing = spans.filter((s) => s.kind === 5 && s.parentSpanId === send!.spanId);
    expect(new Set(processing.map((s) => s.service))).toEqual(new Set(["notification", "marketing"]));
    const [mail] = named(spans, "notification", "mail send");
    expect(processing.map((s) => s.spanId)).toContain(parentOf(mail!)!.spanId);

    // Seven processes, one per service.
    expect(new Set(spans.map((s) => s.service)).size).toBe(SERVICES.length);
    // Log lines written inside the spans carry the trace.
    const logged = platform.proc("order").logs.filter((l) => l.trace_id === client.traceId);
    expect(logged.length).toBeGreaterThan(0);
    expect(logged.every((l) => typeof l.span_id === "string" && (l.span_id as string).length === 16)).toBe(true);
    expect(orderId).toBeString();
    // Order's latency histogram keeps the call's trace as the exemplar of its bucket (OpenMetrics).
    const metrics = await fetch(`${platform.proc("order").http}/metrics`);
    expect(metrics.headers.get("content-type")).toContain("application/openmetrics-text");
    const exemplars = (await metrics.text())
      .split("\n")
      .filter((l) => l.startsWith("rpc_server_duration_seconds_bucket") && l.includes("OrderService/ConfirmOrder"));
    expect(exemplars.some((l) => l.includes(`# {trace_id="${client.traceId}",span_id="`))).toBe(true);
    // Both encodings arrived.
    expect([...receiver.requests.keys()].some((t) => t.includes("json"))).toBe(true);
    expect([...receiver.requests.keys()].some((t) => t.includes("protobuf"))).toBe(true);
  });

  test("an error answer names the request's trace", async () => {
    const client = clientTrace();
    const res = await call("GET", `/v1/orders/${crypto.randomUUID()}`, { headers: client.headers() });
    expect(res.status).toBe(401);
    expect(res.traceId).toBe(client.traceId);
  });

  test("a dead-lettered event's trace shows each delivery and the dead letter; a replay continues it", async () => {
    const ada = await signUp();
    smtp.refuse(451, Infinity);
    const client = clientTrace();
    await placeAndConfirm(client, ada.token);
    const deliveries = () =>
      named(receiver.trace(client.traceId), "notification", /^process .*orders\.confirmed$/).sort(
        (a, b) => Number(a.attributes["shop.deliveries"]) - Number(b.attributes["shop.deliveries"]),
      );
    await waitFor(
      () =>
        deliveries().length === MAX_DELIVER &&
        named(receiver.trace(client.traceId), "notification", /^dead-letter /).length === 1,
      { timeoutMs: 30_000, what: "three failed deliveries and the dead letter on the order's trace" },
    );
    expect(deliveries().map((s) => s.attributes["shop.deliveries"])).toEqual([1, 2, 3]);
    for (const d of deliveries()) expect(d.status.code).toBe(2);
    const [letterSpan] = named(receiver.trace(client.traceId), "notification", /^dead-letter /);
    expect(letterSpan!.parentSpanId).toBe(deliveries()[0]!.parentSpanId);

    const dlq = (args: string[]) => runToExit(["bun", "cli/dlq.ts", ...args], { env: platform.streams.env });
    const letters = JSON.parse((await dlq(["list", "--json"])).stdout) as { id: number; traceId: string }[];
    const letter = letters.find((l) => l.traceId === client.traceId);
    expect(letter).toBeDefined();

    smtp.accept();
    const replayed = await dlq(["replay", String(letter!.id)]);
    expect(replayed.stdout).toContain(`resolved ${letter!.id}`);
    const sent = () =>
      named(receiver.trace(client.traceId), "notification", "mail send").filter((s) => s.status.code !== 2);
    await waitFor(() => sent().length === 1, {
      timeoutMs: 15_000,
      what: "the replayed delivery's e-mail on the same trace",
    });
    const replay = deliveries().find((s) => s.attributes["shop.replay_of"] === letter!.id);
    expect(replay).toBeDefined();
    expect(replay!.status.code).not.toBe(2);
    expect(replay!.events).toContainEqual({
      name: "replay of a dead letter",
      attributes: { "shop.dlq_id": letter!.id },
    });
    expect(replay!.parentSpanId).toBe(letterSpan!.parentSpanId);
    expect(sent()[0]!.parentSpanId).toBe(replay!.spanId);
    // Each refused delivery's send is on the trace too, failed.
    const refused = named(receiver.trace(client.traceId), "notification", "mail send").filter(
      (s) => s.status.code === 2,
    );
    expect(refused).toHaveLength(MAX_DELIVER);
  });

  test("a service with OTEL_SDK_DISABLED sends nothing, and its events still carry a trace context", async () => {
    const silent = startOtlpReceiver();
    try {
      const customer = await platform.start("customer", {
        OTEL_EXPORTER_OTLP_ENDPOINT: silent.url,
        OTEL_SDK_DISABLED: "true",
      });
      // Notification (tracing) handles the CustomerRegistered, a child of the context the event carries: by
      // then the silent customer would long since have exported its request's span (100 ms batches).
      const registrations = () =>
        receiver.spans.filter(
          (s) => s.service === "notification" && s.kind === 5 && /customers\.registered$/.test(s.name),
        );
      const before = registrations().length;
      const res = await fetch(`${customer.http}/v1/customers`, {
        method: "POST",
        headers: { "content-type": "application/json", traceparent: `00-${hex(16)}-${hex(8)}-01` },
        body: JSON.stringify({ email: `off-${crypto.randomUUID()}@example.com`, name: "Off" }),
      });
      expect(res.status).toBe(201);
      expect(res.headers.get("x-trace-id")).toBeNull();
      const { id } = (await res.json()) as { id: string };
      await waitFor(
        async () =>
          (
            await platform.db.sql.unsafe(
              `select 1 from "${platform.db.schema("notification")}".customers where id = $1`,
              [id],
            )
          ).length === 1,
        { timeoutMs: 15_000, what: "notification's copy of the customer" },
      );
      await waitFor(() => registrations().length > before, {
        timeoutMs: 5_000,
        what: "notification's span of the event",
      });
      expect(customer.logs.some((l) => l.msg === "tracing: exporting spans over OTLP/HTTP")).toBe(false);
      expect(silent.requests.size).toBe(0);
      expect(silent.spans).toEqual([]);
      await platform.stopProcess(customer);
    } finally {
      silent.stop();
    }
  });

  test("killed between the outbox write and the relay's publish: after a restart the event carries the original trace", async () => {
    // A customer of its own database, so no running replica's relay publishes its row first.
    const own = testSchemas();
    const traced = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, ...own.env("customer") };
    try {
      const halted = await platform.start("customer", { ...traced, OUTBOX_RELAY_HALT: "before_publish" });
      const client = clientTrace();
      const res = await fetch(`${halted.http}/v1/customers`, {
        method: "POST",
        headers: { "content-type": "application/json", ...client.headers() },
        body: JSON.stringify({ email: `crash-${crypto.randomUUID()}@example.com`, name: "Crash" }),
      });
      expect(res.status).toBe(201);
      const { id } = (await res.json()) as { id: string };
      await waitFor(() => halted.logs.some((l) => l.outbox_halt === "before_publish"), {
        timeoutMs: 10_000,
        what: "the relay halted before publishing",
      });
      await platform.stopProcess(halted, "SIGKILL");
      const [row] = await own.sql.unsafe(
        `select traceparent, published_at from "${own.schema("customer")}".outbox where entity_id = $1`,
        [id],
      );
      expect(row!.published_at).toBeNull();
      expect(String(row!.traceparent).split("-")[1]).toBe(client.traceId);

      const restarted = await platform.start("customer", traced);
      const published = async () =>
        (await platform.streams.stored("CUSTOMERS", "customers.>")).find((m) => m.header?.get(CE.subject) === id);
      await waitFor(async () => !!(await published()), { timeoutMs: 10_000, what: "the event after the restart" });
      const traceparent = (await published())!.header!.get(CE.traceparent);
      expect(traceparent.split("-")[1]).toBe(client.traceId);
      // The restarted relay's send is a child of the create span written before the kill, and the
      // consumers' processing follows it on the same trace.
      await waitFor(
        () => {
          const spans = receiver.trace(client.traceId);
          const send = spans.find((s) => s.service === "customer" && /^send .*customers\.registered$/.test(s.name));
          return (
            !!send &&
            send.parentSpanId === String(row!.traceparent).split("-")[2] &&
            spans.some((s) => s.service === "notification" && s.kind === 5 && s.parentSpanId === send.spanId)
          );
        },
        { timeoutMs: 15_000, what: "the restarted relay's send and notification's processing on the original trace" },
      );
      await platform.stopProcess(restarted);
    } finally {
      await own.drop();
    }
  });
});
