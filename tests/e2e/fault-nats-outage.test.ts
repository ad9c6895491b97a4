// NATS (a server of the test's own) stopped for 5 s while 16 clients place and confirm orders: calls
// between services go on over HTTP to the instances known before (no call fails for it), the events
// written meanwhile wait in the outboxes and are all published once NATS is back, every saga ends and
// every invariant holds, dead letters included. (Before: every instance was dropped from discovery 0.5 s
// after NATS went away; 35-61 CreateOrder calls failed UNAVAILABLE per outage.)
import { afterAll, beforeAll, expect, test } from "bun:test";
import {
  startTestNatsServer,
  type TestNatsServer,
  testEventStreams,
  type TestEventStreams,
  waitFor,
  testSchemas,
  type TestSchemas,
} from "../../services/kit/testing";
import { FLOW_SERVICES, startFaultPlatform, type FaultPlatform } from "./support/fault-platform";
import { breachesIn } from "./support/invariants";

const DOWN_MS = 5000;
let nats: TestNatsServer;
let db: TestSchemas;
let streams: TestEventStreams;
let platform: FaultPlatform;

beforeAll(async () => {
  nats = await startTestNatsServer();
  db = testSchemas();
  streams = await testEventStreams(nats.url);
  platform = await startFaultPlatform({
    natsUrl: nats.url,
    env: {
      ...streams.env,
      CONSUMER_BACKOFF_MS: "200,500,1000",
      ORDER_LEASE_MS: "5000",
      ORDER_RECOVERY_EVERY_MS: "500",
      OUTBOX_POLL_MS: "500",
    },
    envFor: (name) => db.env(name),
    database: db,
  });
}, 120_000);

afterAll(async () => {
  await platform?.stop();
  await streams?.drop().catch(() => {});
  await db?.drop();
  await nats?.destroy();
});

const unpublished = async () => {
  let n = 0;
  for (const s of FLOW_SERVICES)
    n += Number(
      (await db.sql.unsafe(`select count(*) as n from "${db.schema(s)}".outbox where published_at is null`))[0]!.n,
    );
  return n;
};

test(`NATS stopped for ${DOWN_MS / 1000} s under load: calls between services go on, nothing is lost`, async () => {
  const failedDuring: Record<string, number> = {};
  let waitingWhileDown = 0;
  let downAt = 0;
  let upAt = 0;
  const report = await platform.orderLoad({
    total: 2000,
    concurrency: 16,
    paceMs: 10,
    untilDuringEnds: true,
    during: async (progress, sofar) => {
      await waitFor(() => progress() >= 40, { timeoutMs: 60_000, what: "orders flowing" });
      const before = { ...sofar.createErrors, ...prefixed(sofar.confirmAnswers) };
      await nats.stop();
      downAt = Date.now();
      await Bun.sleep(DOWN_MS);
      waitingWhileDown = await unpublished();
      await nats.start();
      upAt = Date.now();
      const after = { ...sofar.createErrors, ...prefixed(sofar.confirmAnswers) };
      for (const [k, v] of Object.entries(after))
        if (k.startsWith("error") || k.startsWith("confirm error")) failedDuring[k] = v - (before[k] ?? 0);
      await waitFor(() => progress() >= 40 + 100, { timeoutMs: 60_000, what: "orders flowing after the outage" });
    },
  });
  const placedWhileDown = report.placedAt.filter((t) => t >= downAt && t < upAt).length;
  await waitFor(async () => (await unpublished()) === 0, {
    timeoutMs: 30_000,
    what: "every outbox row published once NATS is back",
  });
  const tookMs = await platform.sagasFinish({ timeoutMs: 30_000 });
  const money = await platform.moneyCounts();
  console.log(
    `nats outage: ${placedWhileDown} orders placed while NATS was down, ${waitingWhileDown} events waiting in the outboxes then; failed calls during it: ${JSON.stringify(failedDuring)}; sagas ended ${tookMs} ms after the load; ${JSON.stringify({ placed: report.placed.length, confirmAnswers: report.confirmAnswers, createErrors: report.createErrors, ...money })}`,
  );

  expect(platform.unexpectedExits).toEqual([]);
  expect(placedWhileDown).toBeGreaterThan(10);
  expect(waitingWhileDown).toBeGreaterThan(0);
  expect(failedDuring).toEqual({});
  expect(money.captured).toBe(money.confirmed);
  expect(money.providerCaptures).toBe(money.capturedRows);
  // The events made while NATS was down are on the stream now, each once.
  const confirmed = await streams.stored("ORDERS", "orders.confirmed");
  expect(new Set(confirmed.map((m) => m.header?.get("ce-subject"))).size).toBe(confirmed.length);
  expect(confirmed.length).toBe(money.confirmed);
  await Bun.sleep(1100);
  expect(await breachesIn(db, { also: ["customer"], events: streams, stuckAfterSeconds: 1 })).toEqual([]);
}, 240_000);

const prefixed = (answers: Record<string, number>) =>
  Object.fromEntries(Object.entries(answers).map(([k, v]) => [`confirm ${k}`, v]));
