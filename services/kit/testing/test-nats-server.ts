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
