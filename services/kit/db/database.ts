import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import { migrate as migratePostgres } from "drizzle-orm/postgres-js/migrator";
import { join, resolve } from "node:path";
import postgres from "postgres";
import { integer, readConfig, text, url, type Env } from "../config";
import type { Logger } from "../log";
import { trackCommits } from "./after-commit";
import type { Database, OpenDatabase } from "./open-database";

export type { Database, OpenDatabase } from "./open-database";

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Opens a service's database and brings its schema up to date before anything else touches it.
 *
 * DATABASE_URL selects a real Postgres (postgres.js, a pool of DATABASE_POOL_MAX); without it the
 * service keeps an embedded PGlite database under DATA_DIR/<service>/. Tables live in the Postgres
 * schema DATABASE_SCHEMA (default: DATABASE_SCHEMA_PREFIX + the service name), so services sharing one
 * server still own their data, and tests can give every run schemas of its own. Replicas starting together migrate one at a
 * time (an advisory lock).
 *
 * @example
 *   const { db } = await openDatabase({ service: "payment", env, log, schema, migrationsFolder: join(import.meta.dir, "migrations") });
 */
export async function openDatabase<S extends Record<string, unknown>>(opts: {
  service: string;
  env: Env;
  log: Logger;
  schema: S;
  migrationsFolder: string;
}): Promise<OpenDatabase<S>> {
  const cfg = readConfig(
    {
      DATABASE_URL: url("", ["postgres", "postgresql"]),
      DATABASE_SCHEMA: text(`${opts.env.DATABASE_SCHEMA_PREFIX ?? ""}${opts.service}`),
      DATABASE_POOL_MAX: integer(10, { min: 1, max: 500 }),
      DATA_DIR: text(".data"),
    },
    opts.env,
  );
  const schema = cfg.DATABASE_SCHEMA;
  if (!SCHEMA_NAME.test(schema)) throw new Error(`DATABASE_SCHEMA="${schema}" is not a plain lower-case identifier`);
  const migrationOptions = {
    migrationsFolder: opts.migrationsFolder,
    migrationsSchema: schema,
    migrationsTable: "migrations",
  };

  if (cfg.DATABASE_URL) {
    const connect = (max: number) =>
      postgres(cfg.DATABASE_URL, {
        max,
        // application_name: operators (and tests) tell a service's connections apart in pg_stat_activity.
        connection: { search_path: schema, application_name: `${opts.service}/${schema}`.slice(0, 63) },
        onnotice: () => {},
        // Also bounds a connection attempt that a server going away leaves unanswered.
        connect_timeout: 5,
        // Between reconnection attempts after connections failed. postgres.js's default grows by 3^n per
        // failure, shared by the pool, up to 20 s: after a few seconds of outage a service stayed without
        // a database for up to 20 s after Postgres was back. At most 1 s here, jittered.
        backoff: (failures: number) => Math.min(0.1 * 2 ** failures, 1) * (0.5 + Math.random() / 2),
      });
    // One connection of its own for migrating, so the advisory lock and the migration share a session.
    const migrator = connect(1);
    try {
      await migrator`select pg_advisory_lock(hashtext(${`migrate:${schema}`}))`;
      await migrator.unsafe(`create schema if not exists "${schema}"`);
      await migratePostgres(drizzlePostgres(migrator), migrationOptions);
    } catch (e) {
      throw new Error(`database at DATABASE_URL: ${e instanceof Error ? e.message : e}`);
    } finally {
      await migrator.end({ timeout: 1 }); // ending the session releases the lock
    }
    const client = connect(cfg.DATABASE_POOL_MAX);
    opts.log.info({ driver: "postgres", schema }, "database ready");
    // Tracked so work can follow a commit (afterCommit), e.g. waking the outbox relay.
    const db = trackCommits(drizzlePostgres(client, { schema: opts.schema }) as unknown as Database<S>);
    return {
      db,
      driver: "postgres",
      schema,
      check: async () => void (await client`select 1`),
      close: () => client.end({ timeout: 5 }),
    };
  }

  // Imported here, not at the top: a service on Postgres never loads PGlite.
  const { openPgliteDatabase } = await import("./pglite");
  const dir = resolve(join(cfg.DATA_DIR, opts.service, "pglite"));
  return openPgliteDatabase({
    dir,
    schema,
    tables: opts.schema,
    migrationsFolder: opts.migrationsFolder,
    log: opts.log,
  });
}
