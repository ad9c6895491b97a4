import { asc, eq, sql } from "drizzle-orm";
import type { Database } from "../../kit/db/database";
import type { CustomerProfile, ProfileChange } from "../domain/profiles";
import * as schema from "./schema";

const { profiles, spend } = schema;

/** The marketing schema, or a transaction on it (handlers get one from the kit). */
export type MarketingDb = Database<typeof schema>;

/**
 * Applies one event's change: counters are added in the database (no read-modify-write, so replicas
 * handling events of one customer at once cannot lose an update), last activity only moves forward.
 */
export async function applyChange(db: MarketingDb, customerId: string, change: ProfileChange): Promise<void> {
  const at = sql`${change.at.toISOString()}::timestamptz`;
  const registeredAt = change.registeredAt ? sql`${change.registeredAt.toISOString()}::timestamptz` : sql`null`;
  const add = { placed: change.placed ?? 0, confirmed: change.confirmed ?? 0, cancelled: change.cancelled ?? 0, failed: change.paymentFailed ?? 0 };
  await db
    .insert(profiles)
    .values({
      customerId,
      registeredAt: change.registeredAt,
      ordersPlaced: add.placed,
      ordersConfirmed: add.confirmed,
      ordersCancelled: add.cancelled,
      paymentFailures: add.failed,
      lastActivity: change.at,
    })
    .onConflictDoUpdate({
      target: profiles.customerId,
      set: {
        registeredAt: sql`coalesce(${registeredAt}, ${profiles.registeredAt})`,
        ordersPlaced: sql`${profiles.ordersPlaced} + ${add.placed}`,
        ordersConfirmed: sql`${profiles.ordersConfirmed} + ${add.confirmed}`,
        ordersCancelled: sql`${profiles.ordersCancelled} + ${add.cancelled}`,
        paymentFailures: sql`${profiles.paymentFailures} + ${add.failed}`,
        lastActivity: sql`greatest(${profiles.lastActivity}, ${at})`,
      },
    });
  if (change.spend) {
    await db
      .insert(spend)
      .values({ customerId, currency: change.spend.currency, amountMinor: change.spend.amountMinor })
      .onConflictDoUpdate({ target: [spend.customerId, spend.currency], set: { amountMinor: sql`${spend.amountMinor} + ${change.spend.amountMinor.toString()}::bigint` } });
  }
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
