import type { Query } from "drizzle-orm";
import type { Database } from "./database";

/** What drizzle's prepared query holds once built: the text, the parameters (placeholders among them) and how to read the rows. */
interface Built {
  query: Query;
  fields: unknown;
  isResponseInArrayMode: boolean;
  joinsNotNullableMap: unknown;
}

/**
 * A fixed-shape query with typed rows that drizzle builds once (`.prepare(name)` on a builder with
 * `sql.placeholder(...)` for what changes) and that then runs on whichever database or transaction it is
 * given, with the values of one call. Resolves as the builder's own `.execute()` would: rows mapped
 * through the columns' decoders (bigint, timestamps), values through their encoders.
 *
 * Building a drizzle query per call (the builder, its SQL chunks, the text, the field list) is most of
 * the JavaScript work and most of the short-lived objects of a simple query; under load those objects
 * outlive young collections while their query is in flight and pile up in the old generation until a
 * full collection, which is what made the busiest service's heap grow. A prepared query is also one
 * round trip with postgres.js where an unprepared one with parameters takes two. Only fixed shapes
 * belong here: each distinct text becomes a statement kept on every pooled connection (postgres.js keys
 * them by text; the name only marks the query as prepared, and PGlite ignores it).
 *
 * @example
 *   const byId = fixedQuery("order_get", (db) => db.select().from(orders).where(eq(orders.id, sql.placeholder("id"))));
 *   const [row] = await byId(tx, { id });
 */
export function fixedQuery<P extends { execute(values?: Record<string, unknown>): Promise<unknown> }>(
  name: string,
  build: (db: Database<any>) => { prepare(name: string): P },
): (db: Database<any>, values: Record<string, unknown>) => ReturnType<P["execute"]> {
  let built: Built | undefined;
  return (db, values) => {
    if (!built) {
      // drizzle's prepared query object (pg-core's PgPreparedQuery under either driver) keeps these.
      const p = build(db).prepare(name) as unknown as {
        query: Query;
        fields: unknown;
        _isResponseInArrayMode: boolean;
        joinsNotNullableMap?: unknown;
      };
      built = {
        query: p.query,
        fields: p.fields,
        isResponseInArrayMode: p._isResponseInArrayMode,
        joinsNotNullableMap: p.joinsNotNullableMap,
      };
    }
    const session = (
      db as unknown as {
        _: {
          session: {
            prepareQuery(
              q: Query,
              fields: unknown,
              name: string,
              arrayMode: boolean,
            ): P & { joinsNotNullableMap?: unknown };
          };
        };
      }
    )._.session;
    const prepared = session.prepareQuery(built.query, built.fields, name, built.isResponseInArrayMode);
    if (built.joinsNotNullableMap) prepared.joinsNotNullableMap = built.joinsNotNullableMap;
    return prepared.execute(values) as ReturnType<P["execute"]>;
  };
}

/**
 * One fixedQuery per shape, for a statement whose shape follows a small, bounded key (how many rows an
 * insert takes, which columns an update sets): `make(key)` runs once per key, on its first use.
 */
export function fixedQueryPerShape<K, Q>(make: (key: K) => Q): (key: K) => Q {
  const made = new Map<K, Q>();
  return (key) => {
    let q = made.get(key);
    if (q === undefined) made.set(key, (q = make(key)));
    return q;
  };
}

/**
 * A list as one Postgres array parameter (`= any($1::text[])`, `::uuid[]`): the same statement text for
 * any number of values, where an IN list would make a statement per length. Each element is quoted.
 */
export function arrayParameter(values: readonly string[]): string {
  return `{${values.map((v) => `"${v.replace(/[\\"]/g, "\\$&")}"`).join(",")}}`;
}
