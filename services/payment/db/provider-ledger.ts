import { eq, sql } from "drizzle-orm";
import { type Database, fixedQuery } from "../../kit/db";
import type { ProviderLedger, SettledOutcome } from "../domain/provider";
import { providerCharges } from "./schema";

const Q = {
  find: fixedQuery("provider_charge_find", (db) =>
    db
      .select()
      .from(providerCharges)
      .where(eq(providerCharges.idempotencyKey, sql.placeholder("key"))),
  ),
  record: fixedQuery("provider_charge_record", (db) =>
    db
      .insert(providerCharges)
      .values({
        idempotencyKey: sql.placeholder("key"),
        outcome: sql.placeholder("outcome"),
        declineReason: sql.placeholder("reason"),
        amountMinor: sql.placeholder("amountMinor"),
        currency: sql.placeholder("currency"),
      })
      .onConflictDoNothing()
      .returning(),
  ),
};

const toOutcome = (row: typeof providerCharges.$inferSelect): SettledOutcome =>
  row.outcome === "captured" ? { kind: "captured", delayMs: 0 } : { kind: "declined", reason: row.declineReason };

/** The simulated provider's book in its own table, each entry committed on its own before the provider answers. */
export function providerLedger(db: Database<any>): ProviderLedger {
  return {
    async find(key) {
      const [row] = await Q.find(db, { key });
      return row && toOutcome(row);
    },
    async record(charge, outcome) {
      const [row] = await Q.record(db, {
        key: charge.idempotencyKey,
        outcome: outcome.kind,
        reason: outcome.kind === "declined" ? outcome.reason : "",
        amountMinor: charge.amountMinor,
        currency: charge.currency,
      });
      if (row) return toOutcome(row);
      // A charge with the same key got there first: its outcome is the one.
      const [first] = await Q.find(db, { key: charge.idempotencyKey });
      return toOutcome(first!);
    },
  };
}
