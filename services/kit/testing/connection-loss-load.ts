// A load for db/connection-loss.test.ts, in a process of its own so that a crash shows as its exit:
// WORKERS loops of short transactions on the kit's database (Postgres at DATABASE_URL) for LOAD_MS,
// while the test kills this process's connections from outside. Prints one JSON line and exits 0 only
// if every transaction settled (committed or failed) within HANG_MS.
import pino from "pino";
import { sql } from "drizzle-orm";
import { openDatabase } from "../db/database";

const env = process.env;
const loadMs = Number(env.LOAD_MS ?? 4000);
const hangMs = Number(env.HANG_MS ?? 15_000);
const { db, close } = await openDatabase({
  service: "loss",
  env,
  log: pino({ level: "silent" }),
  schema: {},
  migrationsFolder: `${import.meta.dir}/no-migrations`,
});

console.log("ready");

const counts = { committed: 0, failed: 0, hung: 0 };
const errors: Record<string, number> = {};
const stopAt = Date.now() + loadMs;
let lastCommit = 0;

async function worker() {
  while (Date.now() < stopAt) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const hung = new Promise<"hung">((resolve) => (timer = setTimeout(() => resolve("hung"), hangMs)));
    const tx = db
      .transaction(async (t) => {
        await t.execute(sql`select 1`);
        await t.execute(sql`select pg_sleep(0.002)`);
        await t.execute(sql`select 2`);
      })
      .then(
        () => "committed" as const,
        (e: { code?: string; message?: string }) => {
          const why = e.code ?? e.message ?? String(e);
          errors[why] = (errors[why] ?? 0) + 1;
          return "failed" as const;
        },
      );
    const outcome = await Promise.race([tx, hung]);
    clearTimeout(timer);
    counts[outcome]++;
    if (outcome === "committed") lastCommit = Date.now();
    if (outcome === "hung") return;
  }
}

await Promise.all(Array.from({ length: Number(env.WORKERS ?? 12) }, worker));
console.log(JSON.stringify({ ...counts, errors, committedAfterLoad: lastCommit > stopAt - 1000 }));
await close();
process.exit(counts.hung ? 1 : 0);
