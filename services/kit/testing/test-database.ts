import postgres from "postgres";

/** The Postgres that tests use; on the CI machine, the local server with trust auth. */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

export interface TestSchemas {
  /** Env for a service process: its own schema on the test database. */
  env(service: string): Record<string, string>;
  /** Env for a process that starts several services (dev): each gets <prefix>_<service>. */
  prefixEnv(...services: string[]): Record<string, string>;
  /** The schema name a service gets, e.g. to read its tables from a test. */
  schema(service: string): string;
  /** A client on the test database, for reading what services wrote. */
  readonly sql: postgres.Sql;
  /** Drops every schema handed out and closes the client. */
  drop(): Promise<void>;
}

/**
 * Schemas of their own for one test file's services (t<random>_<service>), so test files can run in
 * parallel and repeat, and nothing is left behind once `drop()` ran.
 */
export function testSchemas(): TestSchemas {
  const prefix = `t${crypto.randomUUID().replaceAll("-", "").slice(0, 10)}`;
  const handedOut = new Set<string>();
  const sql = postgres(TEST_DATABASE_URL, { max: 4, onnotice: () => {} });
  const schema = (service: string) => {
    const name = `${prefix}_${service}`;
    handedOut.add(name);
    return name;
  };
  return {
    sql,
    schema,
    env: (service) => ({ DATABASE_URL: TEST_DATABASE_URL, DATABASE_SCHEMA: schema(service) }),
    prefixEnv: (...services) => {
      for (const s of services) schema(s);
      return { DATABASE_URL: TEST_DATABASE_URL, DATABASE_SCHEMA_PREFIX: `${prefix}_` };
    },
    async drop() {
      for (const name of handedOut) await sql.unsafe(`drop schema if exists "${name}" cascade`);
      await sql.end({ timeout: 5 });
    },
  };
}
