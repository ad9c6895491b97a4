// The policies on calls to real payment processes: timeouts that reach the callee, power of two choices
// steering around a slow instance, what is retried and what is not (with the backoff visible in the
// callee's own logs), deadlines carried across two hops, and the breaker failing fast once every
// instance is gone, then closing again through a half-open probe.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { Registry } from "prom-client";
import { PaymentService, PaymentStatus } from "../../services/contracts/gen/shop/payment/v1/payment_service_pb";
import { createLogger, startService } from "../../services/kit";
import {
  staticPolicies,
  type PolicyOverrides,
  isServiceUnavailable,
  ServiceUnavailableError,
} from "../../services/kit/resilience";
import { createServiceClients, type ServiceClients } from "../../services/kit/rpc";
import {
  startServiceProcess,
  waitFor,
  type ServiceProcess,
  testSchemas,
  type TestSchemas,
} from "../../services/kit/testing";

const namespace = `res${crypto.randomUUID().slice(0, 8)}`;
const SLOW_MS = 2500;
const ATTEMPT_MS = 1000;
let db: TestSchemas;
let nc: NatsConnection;
let healthy: ServiceProcess[] = [];
let slow: ServiceProcess;
const open: ServiceClients[] = [];

const startPayment = (env: Record<string, string> = {}) =>
  startServiceProcess("payment", {
    env: { ...db.env("payment"), PLATFORM_NAMESPACE: namespace, LOG_LEVEL: "debug", ...env },
  });

function clientsWith(payment: PolicyOverrides, registry = new Registry()) {
  const clients = createServiceClients(nc, {
    namespace,
    log: createLogger("resilience-test", "silent"),
    registry,
    policies: staticPolicies({ payment }),
  });
  open.push(clients);
  return { clients, registry, payments: clients.connect(PaymentService) };
}

async function counter(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  return (await metric.get()).values
    .filter((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want))
    .reduce((n, v) => n + v.value, 0);
}

const charge = (token: string, { withAmount = true } = {}) => ({
  orderId: crypto.randomUUID(),
  ...(withAmount ? { amount: { amountMinor: 1000n, currency: "EUR" } } : {}),
  cardToken: token,
  idempotencyKey: crypto.randomUUID(),
});

/**
 * A ProcessPayment in Connect's JSON with a deadline in its header (connect-timeout-ms), from a caller that
 * keeps waiting however long it takes: only the callee (or a relay) can end the call.
 */
const chargeWithDeadlineHeader = (baseUrl: string, timeoutMs: number) =>
  fetch(`${baseUrl}/shop.payment.v1.PaymentService/ProcessPayment`, {
    method: "POST",
    headers: { "content-type": "application/json", "connect-timeout-ms": String(timeoutMs) },
    body: JSON.stringify({
      orderId: crypto.randomUUID(),
      amount: { amountMinor: "100", currency: "EUR" },
      cardToken: "tok_success",
      idempotencyKey: crypto.randomUUID(),
    }),
  });

const errorOf = async (p: Promise<unknown>) =>
  p.then(
    () => new Error("expected a failure"),
    (e) => e,
  );

beforeAll(async () => {
  db = testSchemas();
  nc = await connect({ servers: process.env.NATS_URL ?? "nats://127.0.0.1:4222" });
  const first = await startPayment();
  const [second, slowOne] = await Promise.all([
    startPayment(),
    startPayment({ PAYMENT_INJECT_LATENCY_MS: String(SLOW_MS) }),
  ]);
  healthy = [first, second!];
  slow = slowOne!;
});

afterAll(async () => {
  for (const c of open) await c.stop();
  await Promise.all([...healthy, slow].map((p) => p?.stop()));
  await nc?.drain();
  await db?.drop();
});

describe("a slow instance", () => {
  /** 60 charges, 6 at a time, against two healthy instances and one that takes SLOW_MS per charge. */
  async function stream(loadBalancing: "p2c" | "round-robin") {
    const { registry, payments } = clientsWith({
      loadBalancing,
      attemptTimeoutMs: ATTEMPT_MS,
      retry: { maxRetries: 5, initialDelayMs: 20, maxDelayMs: 100 },
    });
    const results: (PaymentStatus | Error)[] = [];
    const queue = Array.from({ length: 60 }, () => charge("tok_success"));
    await Promise.all(
      Array.from({ length: 6 }, async () => {
        for (let req = queue.pop(); req; req = queue.pop()) {
          results.push(
            await payments.processPayment(req, { timeoutMs: 10_000 }).then(
              (r) => r.payment!.status,
              (e) => e,
            ),
          );
        }
      }),
    );
    const all = await counter(registry, "rpc_client_attempts_total");
    const toSlow = await counter(registry, "rpc_client_attempts_total", { instance: slow.id });
    return {
      results,
      slowShare: toSlow / all,
      timeouts: await counter(registry, "rpc_client_timeouts_total"),
      slowAttempts: toSlow,
    };
  }

  test("attempts on the slow instance time out, the deadline reaches the callee, and every charge still succeeds elsewhere", async () => {
    const abandonedBefore = slow.logs.filter(
      (l) => l.msg === "charge abandoned during injected latency: the caller gave up",
    ).length;
    const { results, timeouts, slowAttempts } = await stream("round-robin");
    expect(results.filter((r) => r !== PaymentStatus.CAPTURED)).toEqual([]);
    expect(slowAttempts).toBeGreaterThan(0);
    expect(timeouts).toBeGreaterThanOrEqual(slowAttempts);
    // The callee saw the deadline arrive (Connect-Timeout-Ms, read by the kit's interceptor) and its
    // handler's signal abort when the caller gave up, long before its SLOW_MS were over.
    const abandoned = await waitFor(
      () =>
        slow.logs
          .filter((l) => l.msg === "charge abandoned during injected latency: the caller gave up")
          .slice(abandonedBefore),
      {
        what: "the slow instance to log an abandoned charge",
        timeoutMs: 5000,
      },
    ).then((lines) => (lines.length ? lines : Promise.reject(new Error("no abandoned charge logged"))));
    for (const line of abandoned) {
      expect(line.callerWaitsMs as number).toBeGreaterThan(0);
      expect(line.callerWaitsMs as number).toBeLessThanOrEqual(ATTEMPT_MS);
      expect(["DeadlineExceeded", "AbortError"]).toContain(line.reason as string);
    }
    const metrics = await (await fetch(`${slow.http}/metrics`)).text();
    expect(
      Number(/payment_provider_charges_total\{outcome="abandoned"[^}]*\} (\d+)/.exec(metrics)?.[1]),
    ).toBeGreaterThanOrEqual(abandoned.length);
  });

  test("the timeout header alone stops the callee: connect-es aborts the handler's signal at the deadline", async () => {
    // A client that sends a deadline but keeps waiting: only the callee can end the call.
    const before = slow.logs.length;
    const t0 = performance.now();
    const res = await chargeWithDeadlineHeader(slow.http, 300);
    const ms = performance.now() - t0;
    expect(res.status).toBe(504);
    expect(((await res.json()) as { code: string }).code).toBe("deadline_exceeded");
    expect(ms).toBeGreaterThanOrEqual(290);
    expect(ms).toBeLessThan(SLOW_MS / 2);
    const line = await waitFor(
      () =>
        slow.logs.slice(before).find((l) => l.msg === "charge abandoned during injected latency: the caller gave up"),
      { what: "the abandoned charge" },
    );
    expect(line).toMatchObject({ reason: "DeadlineExceeded", injectedLatencyMs: SLOW_MS });
    expect(line!.callerWaitsMs as number).toBeLessThanOrEqual(300);
  });

  test("power of two choices sends most traffic to the healthy instances; round-robin gives the slow one its third", async () => {
    const rr = await stream("round-robin");
    const p2c = await stream("p2c");
    expect(p2c.results.filter((r) => r !== PaymentStatus.CAPTURED)).toEqual([]);
    expect(rr.slowShare).toBeGreaterThan(0.2);
    expect(p2c.slowShare).toBeLessThan(0.15);
    expect(p2c.slowShare).toBeLessThan(rr.slowShare / 2);
  });
});

test("the deadline travels two hops: a service called with 700 ms left gives its own call to payment no more", async () => {
  // A relay service in this process, built by the kit like any other, forwarding to payment through
  // ctx.clients with the default policy (5 s per attempt): only the deadline it was called with can cut it short.
  const relay = await startService(
    {
      name: "relay",
      version: "0.0.0",
      description: "forwards charges",
      ports: { http: 0 },
      build: ({ clients }) => {
        const payment = clients.connect(PaymentService);
        return {
          rpc: (router) => router.service(PaymentService, { processPayment: (req) => payment.processPayment(req) }),
        };
      },
    },
    {
      PLATFORM_NAMESPACE: namespace,
      RELAY_HTTP_PORT: "0",
      LOG_LEVEL: "silent",
      NATS_URL: process.env.NATS_URL,
      RESILIENCE_POLICY_BUCKET: `${namespace}_none`,
    },
  );
  try {
    const before = slow.logs.length;
    const cutShort = () =>
      slow.logs.slice(before).find((l) => l.msg === "charge abandoned during injected latency: the caller gave up");
    // Like the header-only test: we send 700 ms and keep waiting, so how long the relay takes is its own doing.
    const viaRelay = async () => {
      const t0 = performance.now();
      const res = await chargeWithDeadlineHeader(relay.endpoints.http, 700);
      await res.body?.cancel();
      return { status: res.status, ms: performance.now() - t0 };
    };
    // The relay picks among three instances; go on until a call reached the slow one.
    const answers: { status: number; ms: number }[] = [];
    for (let i = 0; i < 30 && !answers.some((a) => a.status !== 200); i++) answers.push(await viaRelay());
    const cut = await waitFor(cutShort, { what: "the slow instance to give up a charge" });
    expect(cut!.callerWaitsMs as number).toBeLessThanOrEqual(700);
    expect(cut!.callerWaitsMs as number).toBeGreaterThan(0);
    // Without the propagated deadline the relay would have waited out the slow instance's 2.5 s and answered 200.
    const cutOff = answers.filter((a) => a.status !== 200);
    expect(cutOff).toHaveLength(1);
    expect(cutOff[0]!.status).toBe(504);
    expect(cutOff[0]!.ms).toBeLessThan(SLOW_MS * 0.8);
  } finally {
    await relay.stop();
  }
});

describe("what is retried", () => {
  const policy: PolicyOverrides = {
    retry: { maxRetries: 3, initialDelayMs: 100, maxDelayMs: 2000 },
    attemptTimeoutMs: 5000,
  };
  /** The callee-side log lines of one call (by request id), across the healthy instances. */
  const calleeLines = (requestId: string) =>
    healthy
      .flatMap((p) => p.logs)
      .filter((l) => l.requestId === requestId && l.method === "shop.payment.v1.PaymentService/ProcessPayment")
      .sort((a, b) => Date.parse(a.time as string) - Date.parse(b.time as string));

  // Only the two healthy instances from here on: the slow one would add its own timeouts to the timings.
  beforeAll(async () => {
    await slow.stop();
  });

  test("a declined card is an answer: one attempt, no retry", async () => {
    const { registry, payments } = clientsWith(policy);
    const { payment } = await payments.processPayment(charge("tok_declined"));
    expect(payment).toMatchObject({ status: PaymentStatus.DECLINED, declineReason: "card declined by issuer" });
    expect(await counter(registry, "rpc_client_attempts_total")).toBe(1);
    expect(await counter(registry, "rpc_client_retries_total")).toBe(0);
  });

  test("InvalidArgument is passed on as it came, after one attempt, and is no breaker failure", async () => {
    const { registry, payments, clients } = clientsWith({
      ...policy,
      breaker: { minimumCalls: 2, failureRateThreshold: 0.1 },
    });
    for (let i = 0; i < 5; i++) {
      const err = await errorOf(payments.processPayment(charge("tok_success", { withAmount: false })));
      expect(err).toBeInstanceOf(ConnectError);
      expect(isServiceUnavailable(err)).toBe(false);
      expect((err as ConnectError).code).toBe(Code.InvalidArgument);
      expect((err as ConnectError).rawMessage).toContain("amount");
    }
    expect(await counter(registry, "rpc_client_attempts_total")).toBe(5);
    expect(await counter(registry, "rpc_client_retries_total")).toBe(0);
    expect(clients.caller.target("payment").policy.state).toBe("closed");
  });

  test("Unavailable (the provider's transient error) is retried with growing, jittered waits; then the caller learns retries are spent", async () => {
    const { registry, payments } = clientsWith({ ...policy, loadBalancing: "p2c" });
    const requestId = crypto.randomUUID();
    const started = Date.now();
    const err = await errorOf(
      payments.processPayment(charge("tok_transient"), { headers: { "x-request-id": requestId } }),
    );
    expect(err).toBeInstanceOf(ServiceUnavailableError);
    expect(err).toMatchObject({
      service: "payment",
      reason: "retries-exhausted",
      attempts: 4,
      code: Code.Unavailable,
      outcomeUnknown: false,
    });
    expect((err as ServiceUnavailableError).rawMessage).toContain("provider temporarily unavailable");
    expect(await counter(registry, "rpc_client_retries_total")).toBe(3);

    // The four attempts as the callees saw them.
    const lines = await waitFor(() => (calleeLines(requestId).length >= 4 ? calleeLines(requestId) : undefined), {
      what: "the callee's log lines of all four attempts",
    });
    expect(lines!.map((l) => l.code)).toEqual(["Unavailable", "Unavailable", "Unavailable", "Unavailable"]);
    const at = lines!.map((l) => Date.parse(l.time as string));
    // Decorrelated jitter: the waits are random, but their sum after n retries is 0.714 * initial *
    // 2^t * tanh(sqrt(4t)) for some t in [n-1, n): at least 2.83 * 100 ms after three retries,
    // at least 1.38 * 100 ms after two; without backoff the four attempts would take a few ms.
    expect(at[2]! - at[0]!).toBeGreaterThanOrEqual(138 - 5);
    expect(at[3]! - at[0]!).toBeGreaterThanOrEqual(283 - 5);
    expect(at[3]! - at[0]!).toBeLessThan(Date.now() - started);
  });
});

describe("every payment instance gone", () => {
  test("the breaker opens, calls fail fast with a clear error, the fallback answers; a new instance closes it through a probe", async () => {
    const settings: PolicyOverrides = {
      retry: { maxRetries: 2, initialDelayMs: 20, maxDelayMs: 100 },
      attemptTimeoutMs: 1000,
      breaker: { failureRateThreshold: 0.5, minimumCalls: 4, windowMs: 10_000, halfOpenAfterMs: 1500 },
    };
    const { registry, payments, clients } = clientsWith(settings);
    const fallbackReasons: string[] = [];
    const withFallback = clients.connect(PaymentService, {
      fallback: {
        processPayment: (req, err) => {
          fallbackReasons.push(err.reason);
          return {
            payment: {
              orderId: req.orderId,
              status: PaymentStatus.UNSPECIFIED,
              declineReason: `deferred: ${err.reason}`,
            },
          };
        },
      },
    });
    expect((await payments.processPayment(charge("tok_success"))).payment?.status).toBe(PaymentStatus.CAPTURED);

    await Promise.all([...healthy, slow].map((p) => p.stop("SIGTERM")));

    const outcomes: { ms: number; err: ServiceUnavailableError }[] = [];
    for (let i = 0; i < 12; i++) {
      const t0 = performance.now();
      const err = await errorOf(payments.processPayment(charge("tok_success")));
      outcomes.push({ ms: performance.now() - t0, err });
    }
    for (const { ms, err } of outcomes) {
      expect(err).toBeInstanceOf(ServiceUnavailableError);
      expect(err.service).toBe("payment");
      expect(err.code).toBe(Code.Unavailable);
      expect(ms).toBeLessThan(2000);
    }
    const firstOpen = outcomes.findIndex((o) => o.err.reason === "circuit-open");
    expect(firstOpen).toBeGreaterThan(0);
    expect(firstOpen).toBeLessThanOrEqual(4);
    for (const o of outcomes.slice(firstOpen)) {
      expect(o.err.reason).toBe("circuit-open");
      expect(o.err.attempts).toBe(0);
      expect(o.ms).toBeLessThan(100);
      expect(o.err.message).toContain("payment unavailable (circuit-open");
    }
    expect(await counter(registry, "rpc_client_breaker_state", { target: "payment" })).toBe(1);
    expect(await counter(registry, "rpc_client_rejections_total", { reason: "circuit_open" })).toBe(12 - firstOpen);

    const { payment: deferred } = await withFallback.processPayment(charge("tok_success"));
    expect(deferred?.declineReason).toBe("deferred: circuit-open");
    expect(fallbackReasons).toEqual(["circuit-open"]);
    expect(await counter(registry, "rpc_client_fallbacks_total")).toBe(1);

    // Back: once halfOpenAfterMs passed, one probe goes through, succeeds, and the breaker closes.
    const back = await startPayment();
    healthy = [back];
    const answer = await waitFor(() => payments.processPayment(charge("tok_success")).catch(() => undefined), {
      timeoutMs: 10_000,
      intervalMs: 100,
      what: "a charge to succeed again",
    });
    const payment = answer!.payment;
    expect(payment?.status).toBe(PaymentStatus.CAPTURED);
    expect(clients.caller.target("payment").policy.state).toBe("closed");
    expect(await counter(registry, "rpc_client_breaker_state", { target: "payment" })).toBe(0);
  });
});
