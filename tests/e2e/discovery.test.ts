// Discovery and load balancing against real payment processes in a namespace of their own: instances
// come and go (deregistered, SIGKILLed), round-robin takes each in turn, and a steady stream of calls
// through the Connect transport survives losing an instance without a single failed call.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { Registry } from "prom-client";
import { PaymentService, PaymentStatus } from "../../services/contracts/gen/shop/payment/v1/payment_service_pb";
import { createLogger } from "../../services/kit";
import { staticPolicies } from "../../services/kit/resilience";
import { createServiceClients, type ServiceClients } from "../../services/kit/rpc";
import {
  startServiceProcess,
  waitFor,
  type ServiceProcess,
  testSchemas,
  type TestSchemas,
  runToExit,
} from "../../services/kit/testing";

const namespace = `disc${crypto.randomUUID().slice(0, 8)}`;
let db: TestSchemas;
let nc: NatsConnection;
const procs: ServiceProcess[] = [];

// Short claim leases: a charge cut off by SIGKILL leaves a pending claim that a retry elsewhere may take over soon.
const paymentEnv = () => ({
  ...db.env("payment"),
  PLATFORM_NAMESPACE: namespace,
  PAYMENT_PROVIDER_TIMEOUT_MS: "500",
  PAYMENT_CLAIM_LEASE_MS: "1000",
});
async function startPayment() {
  const p = await startServiceProcess("payment", { env: paymentEnv() });
  procs.push(p);
  return p;
}

/** Attempts the clients sent to each instance so far, from their metrics. */
async function attemptsByInstance(registry: Registry): Promise<Map<string, number>> {
  const metric = await registry.getSingleMetric("rpc_client_attempts_total")!.get();
  const out = new Map<string, number>();
  for (const v of metric.values)
    out.set(String(v.labels.instance), (out.get(String(v.labels.instance)) ?? 0) + v.value);
  return out;
}

function clientsFor(registry: Registry, overrides = {}): ServiceClients {
  return createServiceClients(nc, {
    namespace,
    log: createLogger("discovery-test", "silent"),
    registry,
    policies: staticPolicies({ payment: overrides }),
  });
}

beforeAll(async () => {
  db = testSchemas();
  nc = await connect({ servers: process.env.NATS_URL ?? "nats://127.0.0.1:4222" });
  // One first, so the schema is migrated once, then two more replicas.
  await startPayment();
  await Promise.all([startPayment(), startPayment()]);
});

afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop()));
  await nc?.drain();
  await db?.drop();
});

test("discovery sees the instances of its namespace only, notices a new one and a stopped one within 2 s", async () => {
  const clients = clientsFor(new Registry());
  try {
    const ids = async () => (await clients.discovery.instances("payment")).map((i) => i.id).sort();
    // One gather can miss an instance that answers late on a busy machine; the pings add it within the same 2 s as a new one.
    const all = procs
      .map((p) => p.id)
      .sort()
      .join();
    await waitFor(async () => (await ids()).join() === all, { timeoutMs: 2000, what: "every running instance" });
    expect(await ids()).toEqual(procs.map((p) => p.id).sort());
    const other = createServiceClients(nc, { namespace: `${namespace}x`, log: createLogger("t", "silent") });
    expect(await other.discovery.instances("payment")).toEqual([]);
    await other.stop();

    const extra = await startServiceProcess("payment", { env: paymentEnv() });
    const t0 = Date.now();
    await waitFor(async () => (await ids()).includes(extra.id), {
      timeoutMs: 2000,
      what: "the new instance to be discovered",
    });
    const seenAfter = Date.now() - t0;
    const stopped = Date.now();
    await extra.stop("SIGTERM");
    await waitFor(async () => !(await ids()).includes(extra.id), {
      timeoutMs: 2000,
      what: "the stopped instance to vanish",
    });
    expect(seenAfter).toBeLessThan(2000);
    expect(Date.now() - stopped).toBeLessThan(2000 + 1000); // SIGTERM itself takes a moment
    const [first] = await clients.discovery.instances("payment");
    expect(first).toMatchObject({
      name: "payment",
      version: expect.stringMatching(/^\d+\.\d+\.\d+$/),
      http: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
      grpc: expect.stringMatching(/^http:/),
    });
  } finally {
    await clients.stop();
  }
});

test("round-robin takes every instance in turn", async () => {
  const registry = new Registry();
  const clients = clientsFor(registry, { loadBalancing: "round-robin" });
  try {
    const payments = clients.connect(PaymentService);
    // A well-formed id of no payment: NotFound, an answer (not a failure) from whichever instance.
    for (let i = 0; i < 30; i++) await payments.getPaymentStatus({ paymentId: crypto.randomUUID() }).catch(() => {});
    expect([...(await attemptsByInstance(registry)).values()]).toEqual([10, 10, 10]);
  } finally {
    await clients.stop();
  }
});

test("SIGKILL one of three under a steady stream of charges: no call fails, the dead one gets no traffic after 2 s", async () => {
  const registry = new Registry();
  const clients = clientsFor(registry, {
    retry: { maxRetries: 4, initialDelayMs: 20, maxDelayMs: 200 },
    attemptTimeoutMs: 2000,
  });
  const dropped = new Map<string, number>();
  clients.discovery.onChange((_, list) => {
    for (const p of procs) if (!list.some((i) => i.id === p.id) && !dropped.has(p.id)) dropped.set(p.id, Date.now());
  });
  const payments = clients.connect(PaymentService);
  const failures: unknown[] = [];
  let calls = 0;
  let running = true;
  const worker = async () => {
    while (running) {
      try {
        const { payment } = await payments.processPayment(
          {
            orderId: crypto.randomUUID(),
            amount: { amountMinor: 500n, currency: "EUR" },
            cardToken: "tok_success",
            idempotencyKey: crypto.randomUUID(),
          },
          { timeoutMs: 10_000 },
        );
        if (payment?.status !== PaymentStatus.CAPTURED) failures.push(new Error(`not captured: ${payment?.status}`));
      } catch (e) {
        failures.push(e);
      }
      calls++;
    }
  };
  const workers = Array.from({ length: 4 }, worker);
  try {
    const [victim, ...survivors] = procs;
    // Every instance is taking traffic before the kill.
    await waitFor(
      async () => {
        const seen = await attemptsByInstance(registry);
        return procs.every((p) => (seen.get(p.id) ?? 0) >= 5);
      },
      { timeoutMs: 10_000, what: "traffic on all three" },
    );

    victim!.proc.kill("SIGKILL");
    const killedAt = Date.now();
    await victim!.proc.exited;
    await waitFor(() => Date.now() >= killedAt + 2000, { timeoutMs: 3000, what: "2 s after the kill" });
    const atTwoSeconds = await attemptsByInstance(registry);
    const callsAtTwoSeconds = calls;
    await waitFor(() => calls >= callsAtTwoSeconds + 40, { timeoutMs: 10_000, what: "more calls after the kill" });
    const later = await attemptsByInstance(registry);

    expect(later.get(victim!.id)).toBe(atTwoSeconds.get(victim!.id)!);
    for (const s of survivors) expect(later.get(s.id)!).toBeGreaterThan(atTwoSeconds.get(s.id)!);
    expect(dropped.get(victim!.id)! - killedAt).toBeLessThan(2000);
    expect((await clients.discovery.instances("payment")).map((i) => i.id)).not.toContain(victim!.id);
  } finally {
    running = false;
    await Promise.all(workers);
    await clients.stop();
  }
  expect(failures).toEqual([]);
  expect(calls).toBeGreaterThan(60);
});

/** The CLI on this test's open bus: no identities of a dev run (.data/identities) to check registrations against. */
const runCli = (args: string[], env: Record<string, string> = {}) =>
  runToExit(["bun", "cli/services.ts", ...args], {
    env: { PLATFORM_NAMESPACE: namespace, IDENTITIES_DIR: "/nonexistent/identities", PLATFORM_PUBLIC_KEYS: "", ...env },
    timeoutMs: 20_000,
  });

test("bun cli/services.ts lists every instance of the namespace with version, endpoints, uptime and $SRV.STATS counts, those over NATS apart", async () => {
  const live = procs.filter((p) => p.proc.exitCode === null && p.proc.signalCode === null);
  const { stdout, stderr, code } = await runCli([]);
  expect(stderr).toBe("");
  expect(code).toBe(0);
  const [head, ...rows] = stdout.trim().split("\n");
  expect(head!.split(/\s+/).join(" ")).toBe(
    "SERVICE INSTANCE VERSION HTTP GRPC UPTIME REQUESTS ERRORS NATS REST REST_ERR",
  );
  expect(rows.at(-1)).toBe(`1 service, ${live.length} instances`);
  const json = JSON.parse((await runCli(["--json"])).stdout) as {
    id: string;
    requests: number;
    errors: number;
    rpcEndpoints: { name: string; requests: number }[];
  }[];
  for (const p of live) {
    const row = rows.find((r) => r.includes(p.id))!.split(/\s+/);
    const stats = json.find((i) => i.id === p.id)!;
    expect(row.slice(0, 5)).toEqual(["payment", p.id, expect.stringMatching(/^\d+\.\d+\.\d+$/), p.http, p.grpc!]);
    expect(row[5]).toMatch(/^\d+(s|m \d+s)$/);
    // Nothing calls them any more, so both runs saw the same counts.
    expect(stats.requests).toBeGreaterThan(0);
    expect(Number(row[6])).toBe(stats.requests);
    expect(Number(row[7])).toBe(stats.errors);
    // The calls came over NATS (the clients' default), counted per method endpoint.
    const overNats = stats.rpcEndpoints.reduce((n, e) => n + e.requests, 0);
    expect(overNats).toBeGreaterThan(0);
    expect(Number(row[8])).toBe(overNats);
    expect(stats.rpcEndpoints.map((e) => e.name)).toContain("shop_payment_v1_PaymentService-GetPaymentStatus-instance");
  }
  expect(rows.some((r) => r.includes(procs[0]!.id))).toBe(false);

  const empty = await runCli([], { PLATFORM_NAMESPACE: `${namespace}nobody` });
  expect(empty).toMatchObject({ code: 0, stderr: "" });
  expect(empty.stdout).toContain(`no services registered in namespace "${namespace}nobody"`);
  const bad = await runCli(["--everything"]);
  expect(bad.code).toBe(1);
  expect(bad.stderr.trim()).toBe("services: unknown option --everything (use --all, --json)");
});
