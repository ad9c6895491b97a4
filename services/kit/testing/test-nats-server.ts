import { afterAll, beforeAll } from "bun:test";
import { connect, type ConnectionOptions, type NatsConnection } from "@nats-io/transport-node";
import type { Subprocess } from "bun";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./free-port";

export interface TestNatsServer {
  readonly url: string;
  /** Stops the server (SIGTERM) and waits for it to exit; its data stays for start(). */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same JetStream data. */
  start(): Promise<void>;
  /** Stops it and removes its data. */
  destroy(): Promise<void>;
}

async function answers(port: number): Promise<boolean> {
  try {
    const socket = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
    socket.end();
    return true;
  } catch {
    return false;
  }
}

/**
 * A nats-server -js of a test's own, on a free port with its data in a temp folder: for tests that stop
 * and restart NATS, which the machine's shared server must never be.
 */
export async function startTestNatsServer({
  binary = process.env.NATS_SERVER_BIN ?? "nats-server",
  config = "",
}: { binary?: string; config?: string } = {}): Promise<TestNatsServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "nats-"));
  // The generated identities' authorization (or any other setting) goes in a file of its own.
  const file = join(dir, "nats.conf");
  writeFileSync(
    file,
    `listen: 127.0.0.1:${port}\njetstream { store_dir: ${JSON.stringify(join(dir, "js"))} }\n${config}`,
  );
  let proc: Subprocess | undefined;
  const start = async () => {
    proc = Bun.spawn([binary, "-c", file], { stdout: "ignore", stderr: "ignore" });
    const deadline = Date.now() + 10_000;
    while (!(await answers(port))) {
      if (proc.exitCode !== null) throw new Error(`${binary} exited with ${proc.exitCode}`);
      if (Date.now() > deadline) throw new Error(`${binary} did not listen on ${port} within 10 s`);
      await Bun.sleep(50);
    }
  };
  const stop = async () => {
    if (proc && proc.exitCode === null) {
      proc.kill("SIGTERM");
      await proc.exited;
    }
  };
  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    start,
    stop,
    async destroy() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A test NATS server for one test file, and connections to it. */
export interface FileNatsServer {
  /** The server (there once the file's tests run). */
  readonly server: TestNatsServer;
  /** A connection to the server, closed after the file's last test. */
  connect(opts?: ConnectionOptions): Promise<NatsConnection>;
}

/**
 * startTestNatsServer for the test file that calls it (at its top level): started before its first
 * test; it and every connection opened through it go away after its last.
 *
 * @example
 *   const nats = testNatsServerOfFile();
 *   test("…", async () => { const nc = await nats.connect(); await nats.server.stop(); … });
 */
export function testNatsServerOfFile(): FileNatsServer {
  let server: TestNatsServer | undefined;
  const opened: NatsConnection[] = [];
  beforeAll(async () => void (server = await startTestNatsServer()));
  afterAll(async () => {
    for (const nc of opened) await nc.close().catch(() => {});
    await server?.destroy();
  });
  const started = () => {
    if (!server) throw new Error("the test file's NATS server starts before its first test: use it in a test or hook");
    return server;
  };
  return {
    get server() {
      return started();
    },
    async connect(opts = {}) {
      const nc = await connect({ servers: started().url, ...opts });
      opened.push(nc);
      return nc;
    },
  };
}
