// A database connection lost mid-transaction must fail that transaction, never the process, and never
// leave a query waiting for ever. Holds the patch of postgres.js (patches/postgres@3.4.9.patch): without
// it, a write scheduled after the socket closed throws where nothing can catch it
// (porsager/postgres#1066, #1208), and a statement sent between a socket's error and its close never settles.
import { expect, test } from "bun:test";
import { join } from "node:path";
import postgres from "postgres";
import { TEST_DATABASE_URL } from "../testing/test-database";
import { waitFor } from "../testing/service-process";

test("a service's Postgres connections killed under load: every transaction settles, the process lives on", async () => {
  const schema = `loss_${crypto.randomUUID().replaceAll("-", "").slice(0, 10)}`;
  const admin = postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => {} });
  const child = Bun.spawn(["bun", join(import.meta.dir, "../testing/connection-loss-load.ts")], {
    env: {
      ...process.env,
      DATABASE_URL: TEST_DATABASE_URL,
      DATABASE_SCHEMA: schema,
      LOAD_MS: "5000",
      HANG_MS: "15000",
      WORKERS: "12",
    },
    stdout: "pipe",
    stderr: "pipe",
  });
  try {
    let out = "";
    void (async () => {
      for await (const chunk of child.stdout) out += new TextDecoder().decode(chunk);
    })();
    // Its database is open (migrated) and the load has started.
    await waitFor(() => out.includes("ready"), { timeoutMs: 15_000, what: "the load to start" });
    // Kill every connection of the load, again and again, while it runs.
    let killed = 0;
    for (let round = 0; round < 40 && child.exitCode === null; round++) {
      const [{ n }] =
        await admin`select count(pg_terminate_backend(pid))::int as n from pg_stat_activity where application_name = ${`loss/${schema}`}`;
      killed += n;
      await Bun.sleep(60);
    }
    const code = await Promise.race([child.exited, Bun.sleep(40_000).then(() => "still running")]);
    const err = await new Response(child.stderr).text();
    expect(err).not.toContain("TypeError");
    expect({ code, out }).toEqual({ code: 0, out: expect.any(String) });
    const summary = await waitFor(() => out.includes("}") && JSON.parse(out.trim().split("\n").at(-1)!), {
      what: "the load's summary",
    });
    expect(killed).toBeGreaterThan(0);
    expect(summary.hung).toBe(0);
    expect(summary.failed).toBeGreaterThan(0);
    expect(summary.committed).toBeGreaterThan(0);
    // Still working after the last kill: the pool reconnected.
    expect(summary.committedAfterLoad).toBe(true);
  } finally {
    child.kill("SIGKILL");
    await admin.unsafe(`drop schema if exists "${schema}" cascade`);
    await admin.end();
  }
}, 90_000);
