import { chownSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./free-port";

export interface TestPostgres {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  readonly url: string;
  /** Stops the server: `immediate` is a crash (connections cut, recovery at the next start), `fast` a clean stop. */
  stop(mode?: "fast" | "immediate"): Promise<void>;
  /** Starts it again on the same port with the same data; resolves once it accepts connections. */
  start(): Promise<void>;
  /** Stops it and removes its data. */
  destroy(): Promise<void>;
}

const BIN = process.env.POSTGRES_BIN_DIR ?? "/usr/lib/postgresql/15/bin";

/**
 * A PostgreSQL server of a test's own (initdb into a temp dir, trust auth, its own port): for tests that
 * stop and restart the database, which the machine's shared server must never be. Run as the postgres
 * user when the test runs as root (Postgres refuses to run as root).
 */
export async function startTestPostgres(): Promise<TestPostgres> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "pg-"));
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? Number((await Bun.$`id -u postgres`.text()).trim()) : undefined;
  if (owner !== undefined) chownSync(dir, owner, owner);
  const data = join(dir, "data");
  const run = async (cmd: string[]) => {
    const full = asRoot ? ["runuser", "-u", "postgres", "--", ...cmd] : cmd;
    const proc = Bun.spawn(full, { stdout: "pipe", stderr: "pipe" });
    const code = await proc.exited;
    if (code !== 0)
      throw new Error(
        `${cmd.join(" ")} exited with ${code}: ${await new Response(proc.stderr).text()}${await new Response(proc.stdout).text()}`,
      );
  };
  await run([`${BIN}/initdb`, "-D", data, "-A", "trust", "-U", "postgres", "--no-sync"]);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=200`;
  const start = () =>
    run([`${BIN}/pg_ctl`, "-D", data, "-o", options, "-l", join(dir, "log"), "-w", "-t", "30", "start"]);
  await start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start,
    stop: (mode = "fast") => run([`${BIN}/pg_ctl`, "-D", data, "-m", mode, "-w", "-t", "30", "stop"]),
    async destroy() {
      await run([`${BIN}/pg_ctl`, "-D", data, "-m", "immediate", "-w", "stop"]).catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
