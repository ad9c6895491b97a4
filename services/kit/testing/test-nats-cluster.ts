import type { Subprocess } from "bun";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./free-port";

/**
 * The cluster's configuration, the one docker-compose.yml runs (deploy/nats/nats.conf includes it):
 * a test overrides only where each node listens, its routes and its store, so the two cannot drift.
 */
export const CLUSTER_CONF = join(import.meta.dir, "../../../deploy/nats/cluster.conf");

export interface TestNatsNode {
  /** Its server_name, as JetStream names stream leaders: `nats-1`, `nats-2`, `nats-3`. */
  readonly name: string;
  readonly url: string;
  /** The monitoring endpoint (/healthz, /jsz, /routez). */
  readonly monitor: string;
  readonly running: boolean;
  /** The names of the clients connected to it now (from /connz): who loses their connection with it. */
  clients(): Promise<string[]>;
  /** kill -9: no goodbye to the cluster or the clients. */
  kill(): Promise<void>;
  /** SIGSTOP: it takes what clients write but reads none of it (a kill() after it loses all that). */
  freeze(): void;
  /** SIGTERM, waiting for it to exit. */
  stop(): Promise<void>;
  /** Starts it again on the same ports with the same store, and waits until it answers /healthz. */
  start(): Promise<void>;
}

export interface TestNatsCluster {
  /** Every node's client URL, comma separated: NATS_URL as the kit reads it. */
  readonly url: string;
  readonly nodes: readonly TestNatsNode[];
  node(name: string): TestNatsNode;
  /** The node leading a stream (by its full name) right now, or undefined while it has none. */
  leaderOf(stream: string): Promise<string | undefined>;
  /** Waits until every running node says it is healthy (JetStream current with the cluster). */
  healthy(timeoutMs?: number): Promise<void>;
  /** Stops every node and removes their stores. */
  destroy(): Promise<void>;
}

async function healthz(monitor: string): Promise<boolean> {
  try {
    const res = await fetch(`${monitor}/healthz`, { signal: AbortSignal.timeout(1000) });
    return res.ok;
  } catch {
    return false;
  }
}

/**
 * Three nats-server processes clustered on the loopback with JetStream, each on free ports with its
 * store in a temp folder, running deploy/nats/cluster.conf: for tests that kill a node under load, which
 * the machine's shared server must never see. Streams made at STREAM_REPLICAS=3 keep a copy on every
 * node. Resolves once every node is healthy (the cluster has a JetStream meta leader).
 *
 * @example
 *   const cluster = await startTestNatsCluster();
 *   // services get NATS_URL: cluster.url, STREAM_REPLICAS: "3"
 *   await cluster.node((await cluster.leaderOf("t1_ORDERS"))!).kill();
 */
export async function startTestNatsCluster({
  binary = process.env.NATS_SERVER_BIN ?? "nats-server",
  size = 3,
  config = CLUSTER_CONF,
}: { binary?: string; size?: number; config?: string } = {}): Promise<TestNatsCluster> {
  const dir = mkdtempSync(join(tmpdir(), "nats-cluster-"));
  const ports = await Promise.all(
    Array.from({ length: size }, async () => ({
      client: await freePort(),
      route: await freePort(),
      http: await freePort(),
    })),
  );
  const routes = ports.map((p) => `nats://127.0.0.1:${p.route}`).join(",");
  const nodes = ports.map((p, i) => {
    const name = `nats-${i + 1}`;
    const store = join(dir, name);
    mkdirSync(store);
    // Its log stays with its store until destroy(): a file, so a long test never fills a pipe.
    const log = join(dir, `${name}.log`);
    let proc: Subprocess | undefined;
    const running = () => proc !== undefined && proc.exitCode === null && proc.signalCode === null;
    const monitor = `http://127.0.0.1:${p.http}`;
    const node: TestNatsNode = {
      name,
      url: `nats://127.0.0.1:${p.client}`,
      monitor,
      get running() {
        return running();
      },
      async clients() {
        const res = await fetch(`${monitor}/connz?limit=4096`, { signal: AbortSignal.timeout(2000) });
        const { connections = [] } = (await res.json()) as { connections?: { name?: string }[] };
        return connections.map((c) => c.name ?? "(unnamed)").sort();
      },
      freeze() {
        if (running()) proc!.kill("SIGSTOP");
      },
      async kill() {
        if (!running()) return;
        proc!.kill("SIGKILL");
        await proc!.exited;
      },
      async stop() {
        if (!running()) return;
        proc!.kill("SIGTERM");
        await proc!.exited;
      },
      async start() {
        if (running()) return;
        // The file's own listen, http, store and routes are for compose; these flags and variables put
        // the node on the loopback, on its ports, with its own store.
        proc = Bun.spawn(
          [
            binary,
            "-c",
            config,
            "-a",
            "127.0.0.1",
            "-p",
            String(p.client),
            "-m",
            String(p.http),
            "--cluster",
            `nats://127.0.0.1:${p.route}`,
            "--routes",
            routes,
            "-l",
            log,
          ],
          {
            env: { ...process.env, NATS_SERVER_NAME: name, NATS_STORE_DIR: store },
            stdout: "ignore",
            stderr: "ignore",
          },
        );
        const deadline = Date.now() + 20_000;
        while (!(await healthz(monitor))) {
          if (!running())
            throw new Error(
              `${name} (${binary}) exited: ${existsSync(log) ? readFileSync(log, "utf8").slice(-2000) : ""}`,
            );
          if (Date.now() > deadline) throw new Error(`${name} was not healthy within 20 s`);
          await Bun.sleep(100);
        }
      },
    };
    return node;
  });
  // Together: a node is healthy only once the cluster elected a JetStream meta leader, which takes two.
  await Promise.all(nodes.map((n) => n.start()));

  let nc: NatsConnection | undefined;
  const cluster: TestNatsCluster = {
    url: nodes.map((n) => n.url).join(","),
    nodes,
    node(name) {
      const n = nodes.find((n) => n.name === name);
      if (!n) throw new Error(`no node ${name} in this cluster (${nodes.map((n) => n.name).join(", ")})`);
      return n;
    },
    async leaderOf(stream) {
      nc ??= await connect({ servers: nodes.map((n) => n.url), maxReconnectAttempts: -1, reconnectTimeWait: 100 });
      const jsm = await jetstreamManager(nc, { timeout: 1000 });
      try {
        return (await jsm.streams.info(stream)).cluster?.leader || undefined;
      } catch {
        return undefined;
      }
    },
    async healthy(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (const n of nodes.filter((n) => n.running))
        while (!(await healthz(n.monitor))) {
          if (Date.now() > deadline) throw new Error(`${n.name} was not healthy within ${timeoutMs} ms`);
          await Bun.sleep(100);
        }
    },
    async destroy() {
      await nc?.close().catch(() => {});
      await Promise.all(nodes.map((n) => n.stop()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return cluster;
}
