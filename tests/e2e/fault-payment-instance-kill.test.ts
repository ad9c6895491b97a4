// kill -9 of one of three payment instances while 16 clients place and confirm 300 orders, calls between
// services on NATS: the calls in flight to it fail as soon as discovery drops it (about a second) and are
// retried on another instance (a charge carries its idempotency key), new calls never go there, no client
// sees an error for it, and every invariant holds after.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { listInstances } from "../../services/kit/nats";
import {
  testEventStreams,
  type TestEventStreams,
  testSchemas,
  type TestSchemas,
  waitFor,
  type ServiceProcess,
} from "../../services/kit/testing";
import { FLOW_SERVICES, startFaultPlatform, type FaultPlatform } from "./support/fault-platform";
import { breachesIn } from "./support/invariants";
import { connect } from "@nats-io/transport-node";

const NATS_URL = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
let db: TestSchemas;
let streams: TestEventStreams;
let platform: FaultPlatform;
const replicas: ServiceProcess[] = [];

beforeAll(async () => {
  db = testSchemas();
  streams = await testEventStreams(NATS_URL);
  platform = await startFaultPlatform({
    natsUrl: NATS_URL,
    env: {
      ...streams.env,
      CONSUMER_BACKOFF_MS: "200,500,1000",
      ORDER_RECOVERY_EVERY_MS: "500",
      // Charges take a while: at any moment some are in flight on each instance.
      PAYMENT_INJECT_LATENCY_MS: "150",
      // A charge the killed instance was making stays claimed until its lease ends; then the order's
      // recovery asks again and another instance finishes it. Short here, so the test need not wait 30 s.
      PAYMENT_PROVIDER_TIMEOUT_MS: "2000",
      PAYMENT_CLAIM_LEASE_MS: "3000",
      ORDER_PAYMENT_PENDING_RECOVERY_MS: "3000",
    },
    envFor: (name) => db.env(name),
    database: db,
  });
  replicas.push(platform.procs.get("payment")!);
  for (let i = 0; i < 2; i++) replicas.push(await platform.start("payment"));
}, 120_000);

afterAll(async () => {
  await Promise.all(replicas.map((r) => r.stop()));
  await platform?.stop();
  await streams?.drop();
  await db?.drop();
});

test("kill -9 of one of three payment instances under load: no client sees it, money and stock stay right", async () => {
  const nc = await connect({ servers: NATS_URL });
  try {
    const victim = replicas[1]!;
    const report = await platform.orderLoad({
      total: 300,
      concurrency: 16,
      during: async (progress: () => number) => {
        await waitFor(() => progress() >= 80, { timeoutMs: 60_000, what: "80 orders through" });
        await platform.kill(victim);
      },
    });
    const tookMs = await platform.sagasFinish({ timeoutMs: 30_000 });
    const money = await platform.moneyCounts();
    console.log(
      `payment instance kill: sagas ended ${tookMs} ms after the load; ${JSON.stringify({ placed: report.placed.length, confirmAnswers: report.confirmAnswers, createErrors: report.createErrors, ...money })}`,
    );
    expect(report.placed.length).toBe(300);
    expect(report.createErrors).toEqual({});
    // Every confirm answered with an order status, none with an error: CONFIRMED or PAYMENT_FAILED, or
    // PAYMENT_PENDING for a charge the killed instance was making (settled by recovery, as the sagas show).
    expect(Object.keys(report.confirmAnswers).filter((k) => k.startsWith("error"))).toEqual([]);
    expect(money.captured).toBe(money.confirmed);
    expect(money.providerCaptures).toBe(money.capturedRows);
    // The two left carry on, registered; the killed one is gone from discovery.
    const listed = await listInstances(nc, { name: "payment", namespace: platform.namespace });
    expect(listed.map((i) => i.id).sort()).toEqual([replicas[0]!.id, replicas[2]!.id].sort());
    await Bun.sleep(1100);
    expect(await breachesIn(db, { stuckAfterSeconds: 1 })).toEqual([]);
    expect(platform.unexpectedExits).toEqual([]);
    for (const name of FLOW_SERVICES.filter((n) => n !== "payment"))
      expect(platform.procs.get(name)!.proc.exitCode).toBeNull();
  } finally {
    await nc.close();
  }
}, 180_000);
