import { asc, eq, sql } from "drizzle-orm";
import { type Database, fixedQuery } from "../../kit/db";
import type { CustomerProfile, ProfileChange } from "../domain/profiles";
import * as schema from "./schema";

const { profiles, spend } = schema;

/** The marketing schema, or a transaction on it (handlers get one from the kit). */
export type MarketingDb = Database<typeof schema>;

/**
 * The two upserts of an event, built by drizzle once and prepared (see fixedQuery): building them per
 * event was most of the service's JS work. Times go as ISO text cast in SQL (registered_at may be null).
 */
const upsertProfile = fixedQuery("marketing_profile_upsert", (db) => {
  const registeredAt = sql`${sql.placeholder("registeredAt")}::timestamptz`;
  const at = sql`${sql.placeholder("at")}::timestamptz`;
  return db
    .insert(profiles)
    .values({
      customerId: sql.placeholder("customerId"),
      registeredAt,
      ordersPlaced: sql.placeholder("placed"),
      ordersConfirmed: sql.placeholder("confirmed"),
      ordersCancelled: sql.placeholder("cancelled"),
      paymentFailures: sql.placeholder("failed"),
      lastActivity: at,
    })
    .onConflictDoUpdate({
      target: profiles.customerId,
      set: {
        registeredAt: sql`coalesce(${registeredAt}, ${profiles.registeredAt})`,
        ordersPlaced: sql`${profiles.ordersPlaced} + ${sql.placeholder("placed")}`,
        ordersConfirmed: sql`${profiles.ordersConfirmed} + ${sql.placeholder("confirmed")}`,
        ordersCancelled: sql`${profiles.ordersCancelled} + ${sql.placeholder("cancelled")}`,
        paymentFailures: sql`${profiles.paymentFailures} + ${sql.placeholder("failed")}`,
        lastActivity: sql`greatest(${profiles.lastActivity}, ${at})`,
      },
    });
});
const upsertSpend = fixedQuery("marketing_spend_upsert", (db) =>
  db
    .insert(spend)
    .values({
      customerId: sql.placeholder("customerId"),
      currency: sql.placeholder("currency"),
      amountMinor: sql`${sql.placeholder("amountMinor")}::bigint`,
    })
    .onConflictDoUpdate({
      target: [spend.customerId, spend.currency],
      set: { amountMinor: sql`${spend.amountMinor} + ${sql.placeholder("amountMinor")}::bigint` },
    }),
);

/**
 * Applies one event's change: counters are added in the database (no read-modify-write, so replicas
 * handling events of one customer at once cannot lose an update), last activity only moves forward.
 */
export async function applyChange(db: MarketingDb, customerId: string, change: ProfileChange): Promise<void> {
  await upsertProfile(db, {
    customerId,
    registeredAt: change.registeredAt ? change.registeredAt.toISOString() : null,
    at: change.at.toISOString(),
    placed: change.placed ?? 0,
    confirmed: change.confirmed ?? 0,
    cancelled: change.cancelled ?? 0,
    failed: change.paymentFailed ?? 0,
  });
  if (change.spend)
    await upsertSpend(db, {
      customerId,
      currency: change.spend.currency,
      amountMinor: change.spend.amountMinor.toString(),
    });
}

export async function getProfile(db: MarketingDb, customerId: string): Promise<CustomerProfile | undefined> {
  const [row] = await db.select().from(profiles).where(eq(profiles.customerId, customerId));
  if (!row) return undefined;
  const spent = await db.select().from(spend).where(eq(spend.customerId, customerId)).orderBy(asc(spend.currency));
  return {
    customerId: row.customerId,
    registeredAt: row.registeredAt ?? undefined,
    ordersPlaced: row.ordersPlaced,
    ordersConfirmed: row.ordersConfirmed,
    ordersCancelled: row.ordersCancelled,
    paymentFailures: row.paymentFailures,
    spent: spent.map((s) => ({ currency: s.currency, amountMinor: s.amountMinor })),
    lastActivity: row.lastActivity,
  };
}
