// The console's data endpoints as an API, on a real platform: the services export their spans to the
// console (its OTLP/HTTP receiver), which reads the instances ($SRV and /metrics), the policies bucket,
// the streams and the dead letters of the same NATS.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { OrderConfirmed } from "../../services/order/contract/events";
import { waitFor } from "../../services/kit/testing";
import { testPlatform } from "./support/test-platform";
import { consoleSession, placeOrder } from "./support/console-session";

const TRACED = ["customer", "inventory", "payment", "order", "gateway", "marketing"];
const platform = testPlatform("cons", { OTEL_BSP_SCHEDULE_DELAY: "100" });
let api: (path: string, init?: RequestInit) => Promise<Response>;
let consoleUrl: string;

beforeAll(async () => {
  const console = await platform.start("console", {
    ...platform.gatewaySecrets,
    CONSOLE_SAMPLE_MS: "500",
  });
  consoleUrl = console.http;
  // Both encodings the OTLP/HTTP exporters speak.
  const json = new Set(["payment", "marketing"]);
  // In two waves: seven processes starting at once on a busy machine may miss their start timeout.
  for (const wave of [TRACED.slice(0, 3), TRACED.slice(3)])
    await Promise.all(
      wave.map((name) =>
        platform.start(name, {
          OTEL_EXPORTER_OTLP_ENDPOINT: consoleUrl,
          OTEL_EXPORTER_OTLP_PROTOCOL: json.has(name) ? "http/json" : "http/protobuf",
        }),
      ),
    );
  api = (await consoleSession(consoleUrl, platform.gatewaySecrets.GATEWAY_ADMIN_API_KEY)).fetch;
});

afterAll(() => platform.stop());

const json = async (path: string, init?: RequestInit) => {
  const res = await api(path, init);
  expect(res.status).toBe(200);
  return (await res.json()) as any;
};

describe("the console", () => {
  test("nothing without a login; a wrong key opens nothing; the session cookie is HttpOnly and SameSite=Strict", async () => {
    expect((await fetch(`${consoleUrl}/api/services`)).status).toBe(401);
    const page = await fetch(`${consoleUrl}/traces`, { redirect: "manual" });
    expect(page.status).toBe(303);
    expect(page.headers.get("location")).toBe("/login?next=%2Ftraces");
    const wrong = await fetch(`${consoleUrl}/login`, {
      method: "POST",
      body: new URLSearchParams({ key: "not-the-key", next: "/" }),
      redirect: "manual",
    });
    expect(wrong.headers.get("location")).toStartWith("/login?failed=1");
    expect(wrong.headers.get("set-cookie")).toBeNull();
    const ok = await fetch(`${consoleUrl}/login`, {
      method: "POST",
      body: new URLSearchParams({ key: platform.gatewaySecrets.GATEWAY_ADMIN_API_KEY, next: "//evil.example" }),
      redirect: "manual",
    });
    expect(ok.headers.get("location")).toBe("/");
    // Nor "/\\evil.example", which a browser reads as another site too.
    const sneaky = await fetch(`${consoleUrl}/login`, {
      method: "POST",
      body: new URLSearchParams({ key: platform.gatewaySecrets.GATEWAY_ADMIN_API_KEY, next: "/\\evil.example" }),
      redirect: "manual",
    });
    expect(sneaky.headers.get("location")).toBe("/");
    const cookie = ok.headers.get("set-cookie")!;
    expect(cookie).toMatch(/^console_session=[\w-]{40,};/);
    expect(cookie).toContain("HttpOnly");
    expect(cookie).toContain("SameSite=Strict");
    // A change must come as JSON (no other site's form can send that).
    const form = await fetch(`${consoleUrl}/api/dead-letters/purge`, {
      method: "POST",
      headers: { cookie: cookie.split(";")[0]!, "content-type": "application/x-www-form-urlencoded" },
      body: "id=1",
    });
    expect(form.status).toBe(415);
  });

  test("services: every instance with version, endpoints, uptime and figures, and the policies per target", async () => {
    const view = await waitFor(
      async () => {
        const v = await json("/api/services");
        return TRACED.every((s) => v.instances.some((i: any) => i.service === s)) && v;
      },
      { timeoutMs: 10_000, what: "every service in the console" },
    );
    const order = view.instances.find((i: any) => i.service === "order");
    expect(order).toMatchObject({
      version: expect.any(String),
      http: platform.proc("order").http,
      grpc: expect.any(String),
    });
    expect(order.id).toBe(platform.proc("order").id);
    expect(order.uptimeMs).toBeGreaterThanOrEqual(0);
    expect(order.endpoints.length).toBeGreaterThan(0);
    expect(order.metricsUrl).toBe(platform.proc("order").http);
    expect(order.scrapeError).toBeUndefined();
    // The gateway's metrics are on its operations listener.
    expect(view.instances.find((i: any) => i.service === "gateway").metricsUrl).toBe(platform.proc("gateway").ops);
    expect(view.targets.map((t: any) => t.target)).toEqual(
      expect.arrayContaining(["payment", "inventory", "customer", "order"]),
    );
    expect(view.targets.find((t: any) => t.target === "payment").settings.breaker.failureRateThreshold).toBe(0.5);
  });

  test("an order's traces are found by order id, customer id and trace id; the waterfall spans five services and more", async () => {
    const { orderId, customerId } = await placeOrder(
      platform.proc("gateway").http,
      platform.gatewaySecrets.GATEWAY_ADMIN_API_KEY,
    );
    const found = await waitFor(
      async () => {
        const { traces } = await json(`/api/traces?order=${orderId}`);
        const services = new Set(traces.flatMap((t: any) => t.services));
        return (
          ["gateway", "order", "inventory", "payment", "customer", "marketing"].every((s) => services.has(s)) &&
          // The confirmation's own trace: gateway, order, inventory, payment and marketing's handling of the event.
          traces.some((t: any) => t.services.includes("payment") && t.services.length >= 5) &&
          traces
        );
      },
      { timeoutMs: 20_000, what: "the order's traces from six services, the confirmation's from five" },
    );
    expect(found.every((t: any) => t.orderIds.includes(orderId))).toBe(true);
    const byCustomer = (await json(`/api/traces?customer=${customerId}`)).traces;
    expect(byCustomer.map((t: any) => t.traceId)).toContain(
      found.find((t: any) => t.customerIds.includes(customerId)).traceId,
    );
    const confirm = found.find((t: any) => t.services.includes("payment") && t.services.length >= 5);
    expect((await json(`/api/traces?trace=${confirm.traceId.slice(0, 12)}`)).traces[0].traceId).toBe(confirm.traceId);

    const w = await json(`/api/traces/${confirm.traceId}`);
    expect(w.services.length).toBeGreaterThanOrEqual(5);
    expect(w.rows.length).toBe(confirm.spans);
    expect(w.rows[0].depth).toBe(0);
    expect(w.rows.some((r: any) => r.service === "payment" && r.kind === "server" && r.depth > 0)).toBe(true);
    for (const r of w.rows) expect(r.offsetMs + r.durationMs).toBeLessThanOrEqual(w.totalMs + 0.01);
    expect((await api(`/api/traces/${"0".repeat(32)}`)).status).toBe(404);

    const timeline = await waitFor(
      async () => {
        const t = (await json(`/api/orders/${orderId}`)).timeline;
        return t.some((s: any) => s.what === "event consumed") && t;
      },
      { timeoutMs: 10_000, what: "marketing's handling of the order's events on its timeline" },
    );
    const names = timeline.map((s: any) => `${s.service} ${s.what} ${s.name}`);
    expect(names).toContain("order saga record order created");
    expect(names.some((n: string) => /^order saga record order confirmed$/.test(n))).toBe(true);
    expect(names.some((n: string) => /^order call .*PaymentService\/ProcessPayment$/.test(n))).toBe(true);
    expect(names.some((n: string) => /^order event published send .*orders\.confirmed$/.test(n))).toBe(true);
    expect(names.some((n: string) => /^marketing event consumed process .*orders\.confirmed$/.test(n))).toBe(true);
    expect(timeline.map((s: any) => s.atMs)).toEqual([...timeline.map((s: any) => s.atMs)].sort((a, b) => a - b));
  });

  test("calls: who calls whom, from the callers' metrics and from the traces", async () => {
    const edges = await waitFor(
      async () => {
        const { edges } = await json("/api/calls");
        const pay = edges.find((e: any) => e.from === "order" && e.to === "payment" && e.kind === "rpc");
        return pay?.attempts > 0 && pay.traced?.count > 0 && edges;
      },
      { timeoutMs: 10_000, what: "order → payment in the call matrix" },
    );
    const pay = edges.find((e: any) => e.from === "order" && e.to === "payment" && e.kind === "rpc");
    expect(pay.failedAttempts ?? 0).toBe(0);
    expect(pay.rate).toBeGreaterThanOrEqual(0);
    expect(pay.serverP99Ms).toBeGreaterThan(0);
    expect(pay.traced.p99Ms).toBeGreaterThan(0);
    expect(edges.some((e: any) => e.from === "gateway" && e.to === "order" && e.attempts > 0)).toBe(true);
    expect(edges.some((e: any) => e.from === "order" && e.to === "marketing" && e.kind === "event")).toBe(true);
  });

  test("policies: an edit is checked as the CLI checks it, stored, in force, and undone", async () => {
    const bad = await api("/api/policies/payment", {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ breaker: { failureRateThreshold: 1.5 } }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).error.message).toBe(
      "not stored: breaker.failureRateThreshold must be a number between 0 and 1 (exclusive), got 1.5",
    );
    const set = await json("/api/policies/payment", {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ breaker: { minimumCalls: 3 } }),
    });
    expect(set.revision).toBeGreaterThan(0);
    const got = await json("/api/policies/payment");
    expect(got.overrides).toEqual({ breaker: { minimumCalls: 3 } });
    expect(got.settings.breaker).toMatchObject({ minimumCalls: 3, failureRateThreshold: 0.5 });
    await json("/api/policies/payment", { method: "DELETE", headers: { "content-type": "application/json" } });
    expect((await json("/api/policies/payment")).overrides).toBeUndefined();
  });

  test("events: the platform's streams with their consumers' counts", async () => {
    const { streams, outbox, outboxNote } = await json("/api/events");
    const orders = streams.find((s: any) => s.name === platform.streams.names.stream("ORDERS"));
    expect(orders.messages).toBeGreaterThan(0);
    expect(orders.consumers.map((c: any) => c.name)).toContain("marketing-order-profiles");
    for (const c of orders.consumers)
      expect(c).toMatchObject({
        pending: expect.any(Number),
        ackPending: expect.any(Number),
        redelivered: expect.any(Number),
      });
    expect(streams.some((s: any) => s.name === platform.streams.names.stream("DLQ"))).toBe(true);
    expect(outbox.find((o: any) => o.service === "order").published).toBeGreaterThan(0);
    expect(outboxNote).toContain("outbox table");
  });

  test("dead letters: listed, shown decoded with its reason, replayed (dies again: said so), purged", async () => {
    const { id: eventId } = await platform.streams.publish(OrderConfirmed, {
      order: { id: crypto.randomUUID(), customerId: "nobody" },
    });
    const letter = await waitFor(
      async () => (await json("/api/dead-letters")).find((l: any) => l.eventId === eventId),
      { timeoutMs: 10_000, what: "the poison event's dead letter" },
    );
    expect(letter).toMatchObject({ consumer: "marketing-order-profiles", kind: "terminated", deliveries: 1 });
    const shown = await json(`/api/dead-letters/${letter.id}`);
    expect(shown.event.order.customerId).toBe("nobody");
    expect(shown.reason).toBe(letter.reason);
    expect(shown.headers).toBeObject();
    expect((await api("/api/dead-letters/999999")).status).toBe(404);

    const replay = await json(`/api/dead-letters/${letter.id}/replay`, {
      method: "POST",
      headers: { "content-type": "application/json" },
    });
    expect(replay.outcome).toBe("failed again");
    expect(replay.message).toStartWith(`failed again ${letter.id}: now dead letter ${replay.again.id}`);

    const purged = await json("/api/dead-letters/purge", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ id: replay.again.id }),
    });
    expect(purged.purged).toBe(1);
    // A body that says neither which nor all purges nothing.
    const vague = await api("/api/dead-letters/purge", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{",
    });
    expect(vague.status).toBe(400);
    expect((await json("/api/dead-letters")).some((l: any) => l.eventId === eventId)).toBe(false);
  });

  test("the pages render, and their main part alone when the page's script asks", async () => {
    for (const path of ["/", "/calls", "/traces", "/events", "/dead-letters", "/orders"]) {
      const res = await api(path);
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(text).toStartWith("<!doctype html>");
      const fragment = await (await api(path, { headers: { "x-fragment": "1" } })).text();
      expect(fragment).not.toContain("<!doctype html>");
      expect(text).toContain(fragment.slice(0, 40));
    }
  });
});
