// `bun cli/dlq.ts` as a user runs it, against dead letters made by a real marketing process on the real
// JetStream (poison order events it terminates at once).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { OrderConfirmed } from "../../services/order/contract/events";
import {
  testEventStreams,
  type TestEventStreams,
  startServiceProcess,
  waitFor,
  type ServiceProcess,
  testSchemas,
  type TestSchemas,
  runToExit,
} from "../../services/kit/testing";

let db: TestSchemas;
let ev: TestEventStreams;
let marketing: ServiceProcess;

beforeAll(async () => {
  db = testSchemas();
  ev = await testEventStreams();
  marketing = await startServiceProcess("marketing", { env: { ...db.env("marketing"), ...ev.env } });
});

afterAll(async () => {
  await marketing?.stop();
  await ev?.drop();
  await db?.drop();
});

const dlq = (args: string[], env: Record<string, string> = {}) =>
  runToExit(["bun", "cli/dlq.ts", ...args], { env: { ...ev.env, DLQ_REPLAY_WAIT_MS: "10000", ...env } });

/** An OrderConfirmed whose customer id is no UUID: marketing terminates it at once. */
async function poison() {
  const { id } = await ev.publish(OrderConfirmed, { order: { id: crypto.randomUUID(), customerId: "nobody" } });
  return (await waitFor(async () => (await ev.deadLetters.list()).find((l) => l.eventId === id), {
    timeoutMs: 10_000,
    what: `the dead letter of ${id}`,
  }))!;
}

describe("bun cli/dlq.ts", () => {
  test("list with nothing dead says so", async () => {
    expect(await dlq(["list"])).toMatchObject({ code: 0, stdout: "no dead letters\n" });
    expect(await dlq(["list", "--json"])).toMatchObject({ code: 0, stdout: "[]\n" });
  });

  test("list and show: where each died, after how many deliveries, why, and the decoded event", async () => {
    const first = await poison();
    const second = await poison();
    const listed = await dlq(["list"]);
    expect(listed.code).toBe(0);
    const lines = listed.stdout.trim().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[0]!.split("\t")).toEqual([
      String(first.id),
      first.failedAt.toISOString(),
      "marketing-order-profiles",
      "shop.order.v1.OrderConfirmed",
      first.eventId,
      "terminated after 1",
      "invalid shop.order.v1.OrderConfirmed: order.customer_id must be a UUID",
      `trace ${first.headers.traceparent!.split("-")[1]}`,
    ]);
    const json = JSON.parse((await dlq(["list", "--json"])).stdout) as { id: number }[];
    expect(json.map((l) => l.id)).toEqual([first.id, second.id]);

    const shown = JSON.parse((await dlq(["show", String(second.id), "--json"])).stdout);
    expect(shown).toMatchObject({
      id: second.id,
      stream: ev.names.stream("ORDERS"),
      consumer: "marketing-order-profiles",
      subject: ev.names.subject("orders.confirmed"),
      kind: "terminated",
      deliveries: 1,
      headers: { "ce-id": second.eventId, "ce-type": "shop.order.v1.OrderConfirmed", "ce-source": "/test" },
      event: { order: { customerId: "nobody" } },
      traceId: second.headers.traceparent!.split("-")[1],
    });
    expect(shown.streamSeq).toBeGreaterThan(0);
  });

  test("purge one, then purge all", async () => {
    const before = await ev.deadLetters.list();
    expect(before.length).toBeGreaterThanOrEqual(2);
    expect(await dlq(["purge", String(before[0]!.id)])).toMatchObject({ code: 0, stdout: `purged ${before[0]!.id}\n` });
    expect((await ev.deadLetters.list()).map((l) => l.id)).toEqual(before.slice(1).map((l) => l.id));
    expect(await dlq(["purge"])).toMatchObject({ code: 0, stdout: `purged ${before.length - 1} dead letters\n` });
    expect(await ev.deadLetters.list()).toEqual([]);
  });

  test("replay --all of messages that are still poison: each fails again and stays in the DLQ once", async () => {
    const [a, b] = [await poison(), await poison()];
    const out = await dlq(["replay", "--all"]);
    expect(out.code).toBe(1);
    expect(out.stdout).toContain(`replayed ${a.id}`);
    // It says what it waits for before it waits.
    expect(out.stdout).toContain(
      "waiting up to 10 s per letter for marketing-order-profiles to handle the 2 replayed (DLQ_REPLAY_WAIT_MS; --no-wait returns at once)",
    );
    expect(out.stdout).toContain(`failed again ${b.id}`);
    const now = await ev.deadLetters.list();
    expect(now.map((l) => l.eventId).sort()).toEqual([a.eventId, b.eventId].sort());
    expect(Math.min(...now.map((l) => l.id))).toBeGreaterThan(Math.max(a.id, b.id));
  });

  test("unknown ids, bad usage and bad settings: a message and a non-zero exit", async () => {
    expect(await dlq(["show", "999999"])).toMatchObject({ code: 1, stderr: "dlq: no dead letter 999999\n" });
    expect(await dlq(["purge", "999999"])).toMatchObject({ code: 1 });
    const bad = await dlq(["show", "abc"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`"abc" is not a dead letter id`);
    expect((await dlq(["replay"])).stderr).toContain("replay needs an id");
    expect((await dlq(["frobnicate"])).stderr).toContain(`unknown command "frobnicate"`);
    expect((await dlq([])).code).toBe(2);
    const prefix = await dlq(["list"], { EVENTS_PREFIX: "Not-OK" });
    expect(prefix.code).toBe(2);
    expect(prefix.stderr).toContain("EVENTS_PREFIX");
    const elsewhere = await dlq(["list"], { EVENTS_PREFIX: `${ev.prefix}x` });
    expect(elsewhere.code).toBe(2);
    expect(elsewhere.stderr).toContain(`there is no stream ${ev.prefix}x_DLQ`);
    const unreachable = await dlq(["list"], { NATS_URL: "nats://127.0.0.1:1" });
    expect(unreachable.code).toBe(2);
    expect(unreachable.stderr).toContain("cannot reach NATS at NATS_URL=nats://127.0.0.1:1");
  });
});
