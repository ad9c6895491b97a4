import { afterAll, beforeAll } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { openDatabase, type OpenDatabase } from "../db/database";
import { testSchemas, type TestSchemas } from "./test-database";

export type Driver = "postgres" | "pglite";

export interface ServiceDatabases<S extends Record<string, unknown>> {
  /** The service's database, migrated, on each driver asked for. */
  readonly on: Partial<Record<Driver, OpenDatabase<S>>>;
  /** The Postgres schemas (to read a table from another session, say). */
  readonly schemas: TestSchemas;
  /** Closes the databases, drops the schema and removes PGlite's directory. */
  close(): Promise<void>;
}

/**
 * A service's database for a test file, migrated as the service migrates it: on Postgres in a schema of
 * the file's own, and (when asked) on PGlite in a temporary directory, for a store that must behave
 * the same on both drivers.
 *
 * @example
 *   let dbs: ServiceDatabases<typeof schema>;
 *   beforeAll(async () => (dbs = await serviceDatabases("order", schema, migrationsFolder, ["postgres", "pglite"])));
 *   afterAll(() => dbs?.close());
 * (serviceDatabasesOfFile does just that.)
 */
export async function serviceDatabases<S extends Record<string, unknown>>(
  service: string,
  schema: S,
  migrationsFolder: string,
  drivers: Driver[] = ["postgres"],
): Promise<ServiceDatabases<S>> {
  const log = pino({ level: "silent" });
  const schemas = testSchemas();
  const dataDir = drivers.includes("pglite") ? mkdtempSync(join(tmpdir(), `${service}-db-`)) : undefined;
  const on: Partial<Record<Driver, OpenDatabase<S>>> = {};
  const close = async () => {
    for (const d of Object.values(on)) await d?.close();
    await schemas.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    for (const driver of drivers) {
      const env = driver === "postgres" ? schemas.env(service) : { DATA_DIR: dataDir! };
      on[driver] = await openDatabase({ service, env, log, schema, migrationsFolder });
    }
  } catch (e) {
    await close();
    throw e;
  }
  return { on, schemas, close };
}

/**
 * serviceDatabases for the test file that calls it (at its top level): opened before its first test,
 * closed after its last. What it answers may be used once the tests run.
 *
 * @example
 *   const dbs = serviceDatabasesOfFile("order", schema, join(import.meta.dir, "migrations"), ["postgres", "pglite"]);
 *   test("…", async () => { const db = dbs.on.pglite!.db; … });
 */
export function serviceDatabasesOfFile<S extends Record<string, unknown>>(
  ...args: Parameters<typeof serviceDatabases<S>>
): ServiceDatabases<S> {
  let opened: ServiceDatabases<S> | undefined;
  beforeAll(async () => void (opened = await serviceDatabases(...args)));
  afterAll(() => opened?.close());
  const ready = () => {
    if (!opened) throw new Error("the test file's databases open before its first test: use them in a test or hook");
    return opened;
  };
  return {
    get on() {
      return ready().on;
    },
    get schemas() {
      return ready().schemas;
    },
    close: () => ready().close(),
  };
}
