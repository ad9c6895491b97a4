// The embedded database for running without Postgres. Its own module, loaded by openDatabase only when
// DATABASE_URL is unset: PGlite and its drizzle driver cost a service ~2 MB it never uses on Postgres.
import { PGlite } from "@electric-sql/pglite";
import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/pglite";
import { migrate } from "drizzle-orm/pglite/migrator";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { Logger } from "../log";
import { trackCommits } from "./after-commit";
import type { Database, OpenDatabase } from "./open-database";
import { DirectoryInUseError, lockDirectory, type DirectoryLock } from "./directory-lock";

/** Opens (or creates) the PGlite database in `dir`, with the service's tables migrated into `schema`. */
export async function openPgliteDatabase<S extends Record<string, unknown>>(opts: {
  dir: string;
  schema: string;
  tables: S;
  migrationsFolder: string;
  log: Logger;
}): Promise<OpenDatabase<S>> {
  const { dir, schema } = opts;
  // One process per PGlite folder: a second one opening it would corrupt it, and nothing in PGlite says so.
  mkdirSync(dirname(dir), { recursive: true });
  let lock: DirectoryLock;
  try {
    lock = lockDirectory(dir);
  } catch (e) {
    if (!(e instanceof DirectoryInUseError)) throw e;
    throw new Error(
      `the embedded PGlite database ${dir} is in use by process ${e.pid}${e.host ? ` on host ${e.host}` : ""}, another instance of this service: ` +
        `one PGlite folder serves one process. A replica needs Postgres (DATABASE_URL, as every replica of a ` +
        `service shares its schema) or a DATA_DIR of its own (data of its own, not shared with the other)${e.host ? `; if that host is gone, remove ${dir}.lock` : ""}`,
    );
  }
  if (lock.tookOverFrom)
    opts.log.warn({ dir, pid: lock.tookOverFrom }, "took over the PGlite folder's lock from a process that is gone");
  let client: PGlite | undefined;
  try {
    client = await openPglite(dir);
    await client.exec(`create schema if not exists "${schema}"; set search_path to "${schema}"`);
    const db = drizzle(client, { schema: opts.tables });
    await migrate(db, {
      migrationsFolder: opts.migrationsFolder,
      migrationsSchema: schema,
      migrationsTable: "migrations",
    });
    opts.log.info({ driver: "pglite", dir, schema }, "database ready");
    const opened = client;
    return {
      db: trackCommits(db as unknown as Database<S>),
      driver: "pglite",
      schema,
      check: async () => void (await db.execute(sql`select 1`)),
      close: () => opened.close().finally(() => lock.release()),
    };
  } catch (e) {
    await client?.close().catch(() => {});
    lock.release();
    throw e;
  }
}

/**
 * PGlite's own start parameters with a smaller buffer cache. Postgres's default shared_buffers (128 MB)
 * lives inside the WebAssembly memory, which never shrinks: a service on PGlite held ~300 MB of RSS at
 * start (~75 MB on Postgres), ~180 MB with 16 MB of buffers, plenty for a development database. The
 * module's own 128 MB of initial memory is the floor (it refuses less).
 */
const PGLITE_START_PARAMS = [...PGlite.defaultStartParams, "-c", "shared_buffers=16MB"];

/** A freshly initialised, empty PGlite data directory, kept per PGlite version for every later first start. */
const PGLITE_TEMPLATE = join(tmpdir(), `pglite-template-${pgliteVersion()}.tar.gz`);

function pgliteVersion(): string {
  const manifest = join(import.meta.dir, "../../../node_modules/@electric-sql/pglite/package.json");
  return existsSync(manifest) ? String(JSON.parse(readFileSync(manifest, "utf8")).version) : "unknown";
}

/**
 * Opens (or creates) an embedded database. A first start runs initdb in WASM, several CPU-seconds; it
 * is done once per machine and the result reused as a template, so a new DATA_DIR starts in a moment.
 */
async function openPglite(dir: string): Promise<PGlite> {
  const fresh = !existsSync(dir) || readdirSync(dir).length === 0;
  mkdirSync(dir, { recursive: true });
  const options = { startParams: PGLITE_START_PARAMS };
  if (fresh && existsSync(PGLITE_TEMPLATE))
    return PGlite.create(dir, { ...options, loadDataDir: Bun.file(PGLITE_TEMPLATE) });
  const client = await PGlite.create(dir, options);
  if (fresh) {
    const template = await client.dumpDataDir("gzip");
    const partial = `${PGLITE_TEMPLATE}.${process.pid}`;
    await Bun.write(partial, template);
    renameSync(partial, PGLITE_TEMPLATE); // atomic: concurrent first starts never see half a template
  }
  return client;
}
