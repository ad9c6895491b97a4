// A call's resilience on its trace, in this process on the real NATS with the real exporter: two kit
// services and the kit's client, spans sent over OTLP/HTTP to a receiver in the test. A retried call shows
// each attempt (and the server spans under them), the ejection and the retry as events; an open breaker and
// the caller's fallback are events on the call's span.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { PaymentService } from "../../contracts/gen/shop/payment/v1/payment_service_pb";
import { createLogger } from "../log";
import { staticPolicies } from "../resilience/policy-source";
import { createServiceClients, type ServiceClients } from "../rpc/service-client";
import { startService, type RunningService, type ServiceDefinition } from "../service";
import { startOtlpReceiver, type OtlpReceiver } from "../testing/otlp-receiver";
import { waitFor } from "../testing/service-process";
import { inSpan } from "./spans";
import type { ReceivedSpan } from "./otlp-spans";

const natsUrl = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
const namespace = `traced${crypto.randomUUID().slice(0, 8)}`;
const GET = "shop.payment.v1.PaymentService/GetPaymentStatus";

/** Ids asked for once: a "flaky:" id fails the first time whichever instance gets it. */
const asked = new Set<string>();

const definition: ServiceDefinition = {
  name: "payment",
  version: "1.0.0",
  description: "the traced calls' test service",
  // Scenarios ride in the ids ("flaky:<uuid>"): this tests the spans, not the rules.
  validateRequests: false,
  ports: { http: 0 },
  build: () => ({
    rpc: (router) =>
      router.service(PaymentService, {
        async processPayment() {
          return {};
        },
        async getPaymentStatus(req) {
          const [scenario] = req.paymentId.split(":");
          const first = !asked.has(req.paymentId);
          asked.add(req.paymentId);
          if ((scenario === "flaky" && first) || scenario === "down")
            throw new ConnectError("not now", Code.Unavailable);
          if (scenario === "missing") throw new ConnectError("no such payment", Code.NotFound);
          return { payment: { id: req.paymentId } };
        },
      }),
  }),
};

let receiver: OtlpReceiver;
const services: RunningService[] = [];
let nc: NatsConnection;
let clients: ServiceClients;

beforeAll(async () => {
  receiver = startOtlpReceiver();
  // The first service started in a process starts its tracing; the second shares it.
  for (let i = 0; i < 2; i++)
    services.push(
      await startService(definition, {
        NATS_URL: natsUrl,
        PLATFORM_NAMESPACE: namespace,
        LOG_LEVEL: "silent",
        RESILIENCE_POLICY_BUCKET: `${namespace}_none`,
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_BSP_SCHEDULE_DELAY: "50",
      }),
    );
  nc = await connect({ servers: natsUrl });
  clients = createServiceClients(nc, {
    namespace,
    log: createLogger("test", "silent"),
    policies: staticPolicies({
      payment: {
        retry: { maxRetries: 1, initialDelayMs: 1, maxDelayMs: 1 },
        breaker: { minimumCalls: 2, failureRateThreshold: 0.5, halfOpenAfterMs: 60_000 },
      },
    }),
  });
  await waitFor(async () => (await clients.discovery.instances("payment")).length === 2, {
    what: "both instances discovered",
  });
});

afterAll(async () => {
  await clients?.stop();
  for (const s of services) await s.stop();
  await nc?.close();
  receiver?.stop();
});

/** Runs `fn` under a root span of its own and waits until the trace's spans have all arrived. */
async function traced(fn: () => Promise<unknown>, complete: (spans: ReceivedSpan[]) => boolean) {
  let traceId = "";
  await inSpan("test", {}, async (span) => {
    traceId = span!.spanContext().traceId;
    await fn().catch(() => {});
  });
  await waitFor(() => complete(receiver.trace(traceId)), { timeoutMs: 10_000, what: "the call's spans" });
  return receiver.trace(traceId);
}

const callSpan = (spans: ReceivedSpan[]) => spans.find((s) => s.name === GET && s.kind === 1)!;

test("a retried call shows both attempts, each on another instance with the server's span under it", async () => {
  const client = clients.connect(PaymentService);
  const spans = await traced(
    () => client.getPaymentStatus({ paymentId: `flaky:${crypto.randomUUID()}` }),
    (spans) => spans.filter((s) => s.name === GET).length === 5, // call, 2 attempts, 2 server spans
  );
  const call = callSpan(spans);
  expect(call.status.code).not.toBe(2);
  expect(call.events.map((e) => e.name)).toEqual(expect.arrayContaining(["instance ejected", "retry"]));
  const attempts = spans
    .filter((s) => s.kind === 3)
    .sort((a, b) => Number(a.attributes["shop.attempt"]) - Number(b.attributes["shop.attempt"]));
  expect(attempts.map((a) => [a.parentSpanId, a.attributes["shop.attempt"], a.status.code])).toEqual([
    [call.spanId, 0, 2],
    [call.spanId, 1, 0],
  ]);
  expect(attempts[0]!.attributes["shop.instance"]).not.toBe(attempts[1]!.attributes["shop.instance"]);
  const servers = spans.filter((s) => s.kind === 2);
  expect(servers.map((s) => s.parentSpanId).sort()).toEqual(attempts.map((a) => a.spanId).sort());
  expect(servers.find((s) => s.parentSpanId === attempts[0]!.spanId)!.attributes["rpc.connect_rpc.error_code"]).toBe(
    "Unavailable",
  );
});

test("an open breaker and the caller's fallback are events on the call's span", async () => {
  const client = clients.connect(PaymentService, {
    fallback: { getPaymentStatus: () => ({ payment: { id: "from the fallback" } }) },
  });
  // Failures enough to open the breaker (two calls, two attempts each), then a call it refuses.
  for (let i = 0; i < 2; i++) await client.getPaymentStatus({ paymentId: `down:${i}` });
  const spans = await traced(
    () => client.getPaymentStatus({ paymentId: "down:refused" }),
    (spans) => !!callSpan(spans),
  );
  const call = callSpan(spans);
  const events = Object.fromEntries(call.events.map((e) => [e.name, e.attributes]));
  expect(events["target unavailable"]).toMatchObject({ "shop.reason": "circuit-open", "shop.attempts": 0 });
  expect(events["fallback"]).toMatchObject({ "shop.reason": "circuit-open" });
  // Refused before any attempt: no attempt span, nothing sent.
  expect(spans.filter((s) => s.kind === 3 || s.kind === 2)).toEqual([]);
});

test("an error answer names the caller's trace in its metadata (x-trace-id)", async () => {
  // Clients of their own: the breaker of the others is open by now.
  const fresh = createServiceClients(nc, { namespace, log: createLogger("test", "silent") });
  try {
    const client = fresh.connect(PaymentService);
    let traceId = "";
    const err = await inSpan("test", {}, async (span) => {
      traceId = span!.spanContext().traceId;
      return client.getPaymentStatus({ paymentId: "missing:1" }).then(
        () => undefined,
        (e) => ConnectError.from(e),
      );
    });
    expect(err?.code).toBe(Code.NotFound);
    expect(err?.metadata.get("x-trace-id")).toBe(traceId);
  } finally {
    await fresh.stop();
  }
});
