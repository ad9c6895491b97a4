// A service's life as operators see it: registration with the real ports, graceful stop that
// finishes in-flight calls and deregisters, and a one-line refusal to start on bad config.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { join } from "node:path";
import { PaymentService, PaymentStatus } from "../../services/contracts/gen/shop/payment/v1/payment_service_pb";
import { DEFAULT_NAMESPACE, listInstances } from "../../services/kit/nats";
import { startServiceProcess, waitFor, testSchemas, runToExit } from "../../services/kit/testing";

let nc: NatsConnection;
const db = testSchemas();
beforeAll(async () => {
  nc = await connect({ servers: process.env.NATS_URL ?? "nats://127.0.0.1:4222" });
});
afterAll(async () => {
  await nc?.drain();
  await db.drop();
});

test("an instance on port 0 registers its real URLs, counts its calls, and deregisters on SIGTERM", async () => {
  const payment = await startServiceProcess("payment", { env: db.env("payment") });
  try {
    expect(payment.http).toMatch(/^http:\/\/127\.0\.0\.1:[1-9]\d*$/);
    expect(payment.grpc).toMatch(/^http:\/\/127\.0\.0\.1:[1-9]\d*$/);
    const mine = await waitFor(
      async () =>
        (await listInstances(nc, { name: "payment", namespace: DEFAULT_NAMESPACE })).find((i) => i.id === payment.id),
      { what: "registration" },
    );
    expect(mine).toMatchObject({
      name: "payment",
      version: expect.stringMatching(/^\d+\.\d+\.\d+$/),
      http: payment.http,
      grpc: payment.grpc,
    });

    const client = createClient(PaymentService, createConnectTransport({ baseUrl: mine!.http!, httpVersion: "1.1" }));
    await client.getPaymentStatus({ paymentId: "nope" }).catch(() => {});
    const stats = (await listInstances(nc, { name: "payment", namespace: DEFAULT_NAMESPACE, stats: true })).find(
      (i) => i.id === payment.id,
    );
    expect(stats).toMatchObject({ requests: 1, errors: 1 });
    expect(Date.parse(stats!.started!)).toBeGreaterThan(Date.now() - 60_000);
  } finally {
    expect(await payment.stop("SIGTERM")).toBe(0);
  }
  expect(
    (await listInstances(nc, { name: "payment", namespace: DEFAULT_NAMESPACE })).some((i) => i.id === payment.id),
  ).toBe(false);
  expect(payment.logs.at(-1)?.msg).toBe("payment stopped");
});

test("SIGTERM lets an in-flight call finish, refuses new ones, then exits 0", async () => {
  const payment = await startServiceProcess("payment", { env: db.env("payment") });
  const client = createClient(PaymentService, createConnectTransport({ baseUrl: payment.http, httpVersion: "1.1" }));
  const slow = client.processPayment({
    orderId: crypto.randomUUID(),
    amount: { amountMinor: 100n, currency: "EUR" },
    cardToken: "tok_slow",
    idempotencyKey: crypto.randomUUID(),
  });
  await waitFor(
    async () => /rpc_server_in_flight\{[^}]*\} 1\b/.test(await (await fetch(`${payment.http}/metrics`)).text()),
    { what: "the slow call to be in flight" },
  );
  let answered = false;
  void slow.then(() => (answered = true));
  const exited = payment.stop("SIGTERM");
  await waitFor(() => payment.logs.some((l) => l.msg === "shutting down"), { what: "shutdown to begin" });
  // Deregistering is the shutdown's first step, but asynchronous after its log line: waited for (bounded),
  // and done while the slow call is still in flight.
  await waitFor(
    async () =>
      !(await listInstances(nc, { name: "payment", namespace: DEFAULT_NAMESPACE })).some((i) => i.id === payment.id),
    { timeoutMs: 2000, what: "the instance gone from discovery" },
  );
  expect(answered).toBe(false);

  const { payment: done } = await slow;
  expect(done?.status).toBe(PaymentStatus.CAPTURED);
  expect(await exited).toBe(0);
  const refused = await fetch(`${payment.http}/healthz`).catch((e) => e);
  expect(refused).toBeInstanceOf(Error);
});

const runPayment = (env: Record<string, string>) =>
  runToExit(["bun", "services/payment/main.ts"], { env, timeoutMs: 20_000 });

test("bad config: exit 1 naming every bad variable at once, one per line", async () => {
  const { stderr, code } = await runPayment({ PAYMENT_HTTP_PORT: "eighty", MAX_BODY_BYTES: "-1", LOG_LEVEL: "loud" });
  expect(code).toBe(1);
  const [first, ...problems] = stderr.trim().split("\n");
  expect(first).toBe("payment: cannot start: invalid configuration:");
  expect(problems.map((p) => p.trim().split("=")[0]).sort()).toEqual([
    "LOG_LEVEL",
    "MAX_BODY_BYTES",
    "PAYMENT_HTTP_PORT",
  ]);
  expect(problems.join("\n")).toContain('PAYMENT_HTTP_PORT="eighty" is not a port');
});

test("no NATS: exit 1 with one line naming NATS_URL", async () => {
  const { stderr, code } = await runPayment({
    NATS_URL: "nats://127.0.0.1:1",
    PAYMENT_HTTP_PORT: "0",
    PAYMENT_GRPC_PORT: "0",
  });
  expect(code).toBe(1);
  expect(stderr.trim().split("\n")).toHaveLength(1);
  expect(stderr).toContain("NATS_URL=nats://127.0.0.1:1");
});
