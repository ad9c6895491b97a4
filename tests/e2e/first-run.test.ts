// What a newcomer meets when starting services by hand as the README says: a second instance on the same
// PGlite folder, a port already in use. Real service processes, real NATS and Postgres.
import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runToExit, startServiceProcess, testSchemas, waitFor } from "../../services/kit/testing";

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
    // Its buffer cache is small (16 MB, not Postgres's 128 MB in WebAssembly memory that never shrinks):
    // ~180 MB of RSS after start instead of ~300.
    // (Measured once the start's garbage is collected: right after the start line it is higher for a while.)
    const rssMb = () =>
      Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${first.proc.pid}/status`, "utf8"))![1]) / 1024;
    await waitFor(() => rssMb() < 240, {
      timeoutMs: 20_000,
      intervalMs: 250,
      what: `RSS under 240 MB (${rssMb()} MB)`,
    });
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

test("bun run cli services counts REST requests too: a REST-only service shows what it served", async () => {
  const namespace = `fr${crypto.randomUUID().replaceAll("-", "").slice(0, 8)}`;
  const customer = await startServiceProcess("customer", {
    env: { ...db.env("customer"), PLATFORM_NAMESPACE: namespace, PLATFORM_PUBLIC_KEYS: "" },
  });
  try {
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${customer.http}/v1/customers`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: `first-run-${i}-${namespace}@example.com`, name: `First Run ${i}` }),
      });
      expect(res.status).toBe(201);
    }
    expect((await fetch(`${customer.http}/v1/customers/not-a-uuid`)).status).toBe(400);
    // Probes are not requests served.
    await fetch(`${customer.http}/readyz`);
    const cli = (args: string[]) =>
      runToExit(["bun", "cli/services.ts", ...args], {
        env: { PLATFORM_NAMESPACE: namespace, IDENTITIES_DIR: "/nonexistent/identities", PLATFORM_PUBLIC_KEYS: "" },
        timeoutMs: 20_000,
      });
    const [json] = JSON.parse((await cli(["--json"])).stdout) as { restRequests: number; restErrors: number }[];
    expect(json).toMatchObject({ restRequests: 4, restErrors: 0 });
    const { stdout } = await cli([]);
    const [head, row] = stdout.trim().split("\n");
    expect(head!.split(/\s+/).slice(-2)).toEqual(["REST", "REST_ERR"]);
    expect(row!.split(/\s+/).slice(-2)).toEqual(["4", "0"]);
  } finally {
    await customer.stop();
  }
});

test("cli policies set refuses a misspelled target, listing the valid ones; a known one is stored", async () => {
  const bucket = `test_policies_${crypto.randomUUID().slice(0, 8)}`;
  const policies = (args: string[]) =>
    runToExit(["bun", "cli/policies.ts", ...args], {
      env: {
        RESILIENCE_POLICY_BUCKET: bucket,
        PLATFORM_NAMESPACE: `fr${crypto.randomUUID().replaceAll("-", "").slice(0, 8)}`,
        IDENTITIES_DIR: "/nonexistent/identities",
        PLATFORM_PUBLIC_KEYS: "",
      },
      timeoutMs: 20_000,
    });
  const typo = await policies(["set", "paymnet", '{"retry":{"maxRetries":1}}']);
  expect(typo.code).toBe(1);
  expect(typo.stderr).toContain('set paymnet: not stored: no service "paymnet" is called on this platform');
  expect(typo.stderr).toContain("targets: customer, inventory, order, payment");
  const good = await policies(["set", "payment", '{"retry":{"maxRetries":1}}']);
  try {
    expect(good.stderr).toBe("");
    expect(good.code).toBe(0);
    expect(good.stdout).toContain(`set payment in ${bucket}`);
  } finally {
    const { connect } = await import("@nats-io/transport-node");
    const { Kvm } = await import("@nats-io/kv");
    const nc = await connect({ servers: process.env.NATS_URL ?? "nats://127.0.0.1:4222" });
    await new Kvm(nc)
      .open(bucket)
      .then((kv) => kv.destroy())
      .catch(() => {});
    await nc.close();
  }
});
