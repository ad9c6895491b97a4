// The test cluster on its own: three nodes from deploy/nats/cluster.conf, the kit's provisioning makes
// R3 streams and buckets on it (STREAM_REPLICAS=3, the policies bucket too), and a stream whose leader
// is killed -9 elects another, keeps every acknowledged message and still drops a re-published one.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, headers, type NatsConnection } from "@nats-io/transport-node";
import pino from "pino";
import { defineStream, EventNames, eventsConfig, provisionEventStreams } from "../events";
import { runToExit } from "./run-to-exit";
import { startTestNatsCluster, type TestNatsCluster } from "./test-nats-cluster";
import { waitFor } from "./service-process";

const WIDGETS = defineStream("WIDGETS", "widgets");
const prefix = `c${crypto.randomUUID().replaceAll("-", "").slice(0, 8)}`;
const names = new EventNames(prefix);
let cluster: TestNatsCluster;
let nc: NatsConnection;

beforeAll(async () => {
  cluster = await startTestNatsCluster();
  nc = await connect({ servers: cluster.url.split(","), maxReconnectAttempts: -1, reconnectTimeWait: 100 });
}, 60_000);
afterAll(async () => {
  await nc?.close();
  await cluster?.destroy();
});

test("three clustered nodes from the compose file's cluster.conf; the kit makes every stream and bucket R3", async () => {
  expect(cluster.nodes.map((n) => n.name)).toEqual(["nats-1", "nats-2", "nats-3"]);
  expect(cluster.url.split(",")).toHaveLength(3);
  const cfg = eventsConfig({ EVENTS_PREFIX: prefix, STREAM_REPLICAS: "3" });
  await provisionEventStreams(nc, names, cfg, pino({ level: "silent" }), { streams: [WIDGETS] });
  const jsm = await jetstreamManager(nc);
  for (const stream of names.allStreams([WIDGETS])) {
    const info = await jsm.streams.info(stream);
    expect({ stream, replicas: info.config.num_replicas }).toEqual({ stream, replicas: 3 });
    expect(info.cluster?.replicas).toHaveLength(2);
  }
  const bucket = `${prefix}_policies`;
  const set = await runToExit(["bun", "cli/policies.ts", "set", "payment", '{"retry":{"maxRetries":1}}'], {
    env: { NATS_URL: cluster.url, RESILIENCE_POLICY_BUCKET: bucket, STREAM_REPLICAS: "3" },
    timeoutMs: 20_000,
  });
  expect({ code: set.code, stderr: set.stderr }).toEqual({ code: 0, stderr: "" });
  expect((await jsm.streams.info(`KV_${bucket}`)).config.num_replicas).toBe(3);
}, 60_000);

test("kill -9 of a stream's leader: another leads, nothing acknowledged is lost, a re-publish is still a duplicate", async () => {
  const js = jetstream(nc, { timeout: 2000 });
  const jsm = await jetstreamManager(nc);
  const stream = names.stream(WIDGETS);
  const publish = (id: string) => {
    const h = headers();
    h.set("Nats-Msg-Id", id);
    return js.publish(names.subject("widgets.made"), new TextEncoder().encode(id), { headers: h, msgID: id });
  };
  for (let i = 0; i < 50; i++) await publish(`w${i}`);
  const leader = (await cluster.leaderOf(stream))!;
  expect(cluster.nodes.map((n) => n.name)).toContain(leader);

  await cluster.node(leader).kill();
  const killedAt = Date.now();
  await waitFor(async () => !!(await cluster.leaderOf(stream)) && (await cluster.leaderOf(stream)) !== leader, {
    timeoutMs: 30_000,
    intervalMs: 50,
    what: `a new leader of ${stream}`,
  });
  const electedMs = Date.now() - killedAt;
  // Publishing goes on; the ones published before are there once, and again they are duplicates.
  await waitFor(async () => !!(await publish("w50").catch(() => undefined)), { timeoutMs: 30_000, what: "a publish" });
  const again = await publish("w0");
  expect(again.duplicate).toBe(true);
  expect((await jsm.streams.info(stream)).state.messages).toBe(51);

  await cluster.node(leader).start();
  await waitFor(
    async () => {
      const info = await jsm.streams.info(stream);
      return info.cluster?.replicas?.length === 2 && info.cluster.replicas.every((r) => r.current);
    },
    { timeoutMs: 30_000, what: `${leader} current again` },
  );
  console.log(`test cluster: ${stream} had a new leader ${electedMs} ms after ${leader} was killed`);
}, 90_000);
