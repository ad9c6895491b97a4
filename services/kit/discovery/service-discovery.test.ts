// Discovery across a NATS outage, on a nats-server of the test's own: while this process's connection is
// down the last known instances stay known (calls go on over HTTP); once it is back the lists are read
// again, and an instance that went away meanwhile is gone.
import { expect, test } from "bun:test";
import { testNatsServerOfFile } from "../testing/test-nats-server";
import { createLogger } from "../log";
import { registerService, type Registration } from "../nats/registration";
import { waitFor } from "../testing/service-process";
import { ServiceDiscovery } from "./service-discovery";

const nats = testNatsServerOfFile();
const namespace = `out${crypto.randomUUID().slice(0, 8)}`;

const connectTo = () => nats.connect({ maxReconnectAttempts: -1, reconnectTimeWait: 100 });

async function instance(port: number): Promise<Registration> {
  return registerService(await connectTo(), {
    name: "payment",
    version: "0.0.1",
    description: "test",
    endpoints: { http: `http://127.0.0.1:${port}` },
    namespace,
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
