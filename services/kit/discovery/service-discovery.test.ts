// Discovery across a NATS outage, on a nats-server of the test's own: while this process's connection is
// down the last known instances stay known (calls go on over HTTP); once it is back the lists are read
// again, and an instance that went away meanwhile is gone. An answer to INFO that lacks a known
// instance (late, on a cluster busy after losing a node) drops nobody: pings decide who is gone.
import { expect, test } from "bun:test";
import { testNatsServerOfFile } from "../testing/test-nats-server";
import { createLogger } from "../log";
import { registerService, type Registration } from "../nats/registration";
import { registeredName } from "../nats/namespace";
import { waitFor } from "../testing/service-process";
import { ServiceDiscovery } from "./service-discovery";

const nats = testNatsServerOfFile();
const namespace = `out${crypto.randomUUID().slice(0, 8)}`;

const connectTo = () => nats.connect({ maxReconnectAttempts: -1, reconnectTimeWait: 100 });

async function instance(port: number, ns = namespace): Promise<Registration> {
  return registerService(await connectTo(), {
    name: "payment",
    version: "0.0.1",
    description: "test",
    endpoints: { http: `http://127.0.0.1:${port}` },
    namespace: ns,
    status: () => ({ ready: true }),
    rpcCounts: () => ({ requests: 0, errors: 0 }),
  });
}

test("NATS away for a few seconds: the instances stay known, and the list is true again once it is back", async () => {
  const [a, b] = [await instance(1001), await instance(1002)];
  const discovery = new ServiceDiscovery(await connectTo(), {
    namespace,
    pingIntervalMs: 100,
    refreshMs: 500,
    log: createLogger("discovery-test", "silent"),
  });
  try {
    const ids = async () => (await discovery.instances("payment")).map((i) => i.id).sort();
    await waitFor(async () => (await ids()).length === 2, { what: "both instances" });

    await nats.server.stop();
    // Many ping rounds and a refresh pass while the bus is down: nobody is dropped.
    const downSince = Date.now();
    while (Date.now() - downSince < 2000) {
      expect(await ids()).toEqual([a.id, b.id].sort());
      await Bun.sleep(100);
    }

    await nats.server.start();
    // b goes away for good once the bus is back; a stays.
    await waitFor(async () => (await ids()).length === 2, {
      timeoutMs: 10_000,
      what: "the instances after the restart",
    });
    await b.stop();
    await waitFor(async () => (await ids()).join() === a.id, {
      timeoutMs: 5000,
      what: "the stopped instance to be dropped",
    });
  } finally {
    discovery.stop();
  }
}, 30_000);

test("a refresh whose answer lacks a known instance drops nobody; missed pings do", async () => {
  const ns = `late${crypto.randomUUID().slice(0, 8)}`;
  const name = registeredName(ns, "payment");
  const nc = await connectTo();
  // A real instance's answers, replayed by subscriptions this test controls: INFO can go silent alone.
  const real = await instance(1003, ns);
  const info = (await nc.request(`$SRV.INFO.${name}`)).json<{ id: string }>();
  const ping = (await nc.request(`$SRV.PING.${name}`)).json<{ id: string }>();
  await real.stop();
  const replay = (subject: string, answer: unknown) =>
    nc.subscribe(subject, { callback: (_, m) => void m.respond(JSON.stringify(answer)) });
  const infoSub = replay(`$SRV.INFO.${name}`, info);
  const pingSub = replay(`$SRV.PING.${name}`, ping);
  const discovery = new ServiceDiscovery(await connectTo(), {
    namespace: ns,
    pingIntervalMs: 100,
    refreshMs: 200,
    log: createLogger("discovery-test", "silent"),
  });
  const dropped: string[] = [];
  discovery.onChange((_, list) => list.length === 0 && dropped.push(new Date().toISOString()));
  try {
    const ids = async () => (await discovery.instances("payment")).map((i) => i.id);
    await waitFor(async () => (await ids()).join() === info.id, { what: "the instance" });

    infoSub.unsubscribe();
    // Five refreshes and ten pings: the refreshes hear nothing of it, the pings do.
    for (const until = Date.now() + 1000; Date.now() < until; await Bun.sleep(50)) {
      discovery.refreshSoon("payment");
      expect(await ids()).toEqual([info.id]);
    }
    expect(dropped).toEqual([]);

    pingSub.unsubscribe();
    await waitFor(() => dropped.length > 0, { timeoutMs: 2000, what: "the instance dropped after missed pings" });
  } finally {
    discovery.stop();
  }
}, 30_000);
