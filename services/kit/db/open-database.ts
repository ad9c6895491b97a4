import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";

/** A drizzle database, whichever driver is under it; services write their queries against this. */
export type Database<S extends Record<string, unknown> = Record<string, never>> = PgDatabase<PgQueryResultHKT, S>;

export interface OpenDatabase<S extends Record<string, unknown>> {
  readonly db: Database<S>;
  readonly driver: "postgres" | "pglite";
  /** The Postgres schema that holds this service's tables (its "database" in database-per-service). */
  readonly schema: string;
  /** Readiness: throws when the database does not answer. */
  check(): Promise<void>;
  close(): Promise<void>;
}
