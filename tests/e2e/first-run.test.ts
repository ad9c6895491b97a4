// What a newcomer meets when starting services by hand as the README says: a second instance on the same
// PGlite folder, a port already in use. Real service processes, real NATS and Postgres.
import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runToExit, startServiceProcess, testSchemas } from "../../services/kit/testing";

const dataDir = mkdtempSync(join(tmpdir(), "first-run-"));
const db = testSchemas();
afterAll(async () => {
  rmSync(dataDir, { recursive: true, force: true });
  await db.drop();
});

test("a second instance on the same PGlite folder stops at once naming DATABASE_URL and DATA_DIR; a dead holder's lock is taken over", async () => {
  // PGlite: no DATABASE_URL, the folder under DATA_DIR.
  const env = { DATABASE_URL: "", DATA_DIR: dataDir };
  const first = await startServiceProcess("payment", { env, timeoutMs: 60_000 });
  const lockFile = join(dataDir, "payment", "pglite.lock");
  try {
    expect(existsSync(lockFile)).toBe(true);
    // As the README once said to start a replica: ports of its own, the same DATA_DIR.
    const second = await runToExit(["bun", "services/payment/main.ts"], {
      env: { ...env, PAYMENT_HTTP_PORT: "0", PAYMENT_GRPC_PORT: "0", LOG_LEVEL: "warn" },
      timeoutMs: 30_000,
    });
    expect(second.code).toBe(1);
    const line = second.stderr.trim();
    expect(line).toContain(`payment: cannot start: the embedded PGlite database ${join(dataDir, "payment", "pglite")}`);
    expect(line).toContain(`in use by process ${first.proc.pid}`);
    expect(line).toContain("DATABASE_URL");
    expect(line).toContain("DATA_DIR");
    // The first one still serves.
    expect((await fetch(`${first.http}/readyz`)).status).toBe(200);
  } finally {
    await first.stop("SIGKILL"); // (and its test streams dropped)
  }
  // Killed without a chance to remove its lock: the next start takes it over and says so.
  expect(existsSync(lockFile)).toBe(true);
  const third = await startServiceProcess("payment", { env, timeoutMs: 60_000 });
  expect(third.logs.some((l) => l.msg === "took over the PGlite folder's lock from a process that is gone")).toBe(true);
  expect(await third.stop()).toBe(0);
  // A graceful stop removes it.
  expect(existsSync(lockFile)).toBe(false);
});

test("a port in use stops a service before NATS and migrations, naming the variable to change", async () => {
  const taken = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("someone else") });
  try {
    const t0 = performance.now();
    const run = await runToExit(["bun", "services/payment/main.ts"], {
      env: { ...db.env("payment"), PAYMENT_HTTP_PORT: String(taken.port), PAYMENT_GRPC_PORT: "0" },
      timeoutMs: 30_000,
    });
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toBe(
      `payment: cannot start: PAYMENT_HTTP_PORT=${taken.port}: port ${taken.port} on 127.0.0.1 is in use (another instance running? PAYMENT_HTTP_PORT=0 picks a free port)`,
    );
    // Nothing was migrated: its schema does not exist.
    const schemas = await db.sql`select 1 from information_schema.schemata where schema_name = ${db.schema("payment")}`;
    expect(schemas.length).toBe(0);
    expect(performance.now() - t0).toBeLessThan(15_000);
  } finally {
    taken.stop(true);
  }
});
