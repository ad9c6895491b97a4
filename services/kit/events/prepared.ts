import type { Query } from "drizzle-orm";
import type { Database } from "../db/database";

/**
 * Names for the event machinery's hot queries, run as prepared statements (drizzle's `.prepare(name)`).
 * Under drizzle, postgres.js sends a query with parameters that is not prepared in two round trips
 * (Parse/Describe, then, once the server named the parameter types, Bind/Execute); a prepared one
 * is described once per connection and then costs one. Only fixed-shape queries belong here: each
 * distinct text becomes a statement kept on every pooled connection. With postgres.js the name only
 * marks the query as prepared (its statements are keyed by their text); PGlite ignores it.
 */
export const PREPARED = {
  outboxInsert: "kit_outbox_insert",
  outboxDue: "kit_outbox_due",
  outboxMarkSent: "kit_outbox_mark_sent",
  inboxClaim: "kit_inbox_claim",
  inboxSeen: "kit_inbox_seen",
  inboxRecord: "kit_inbox_record",
} as const;

/**
 * A fixed-shape statement that drizzle builds once, with `sql.placeholder(...)` for what changes, and
 * that then runs on whichever database or transaction it is given, with the values of one call.
 * Building a drizzle query (the builder, its SQL chunks, the text) cost more per event than the rest
 * of the consumer's and the outbox writer's own work; values still go through the columns' encoders.
 * Resolves to the driver's raw result: read the rows with rowsOf (postgres.js answers an array, PGlite
 * `{ rows }`). The text is the same for every database here: all are drizzle's Postgres dialect,
 * without a casing option.
 *
 * @example
 *   const claim = fixedStatement(PREPARED.inboxClaim, (db) => db.insert(inbox).values({ eventId: sql.placeholder("eventId"), ... }));
 *   rowsOf(await claim(tx, { eventId }));
 */
export function fixedStatement(name: (typeof PREPARED)[keyof typeof PREPARED], build: (db: Database<any>) => { toSQL(): Query }) {
  let query: Query | undefined;
  return (db: Database<any>, values: Record<string, unknown>): Promise<unknown> => {
    query ??= build(db).toSQL();
    return db._.session.prepareQuery(query, undefined, name, false).execute(values);
  };
}
