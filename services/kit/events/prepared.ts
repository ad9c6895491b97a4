/**
 * Names for the event machinery's hot queries, run as prepared statements built once (kit/db/fixedQuery).
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
  inboxClaimBatch: "kit_inbox_claim_batch",
  inboxSeen: "kit_inbox_seen",
  inboxRecord: "kit_inbox_record",
} as const;
