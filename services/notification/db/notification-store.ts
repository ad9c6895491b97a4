import { eq, sql } from "drizzle-orm";
import type { Database } from "../../kit/db/database";
import * as schema from "./schema";

const { customers, emails } = schema;

/** The notification schema, or a transaction on it (handlers get one from the kit). */
export type NotificationDb = Database<typeof schema>;

export interface KnownCustomer {
  id: string;
  email: string;
  name: string;
  registeredAt: Date;
}

export async function findCustomer(db: NotificationDb, id: string): Promise<KnownCustomer | undefined> {
  const [row] = await db.select().from(customers).where(eq(customers.id, id));
  return row;
}

/** Keeps the newest copy: a replayed old registration does not overwrite a later one. */
export async function saveCustomer(db: NotificationDb, c: KnownCustomer): Promise<void> {
  await db
    .insert(customers)
    .values(c)
    .onConflictDoUpdate({ target: customers.id, set: { email: c.email, name: c.name, registeredAt: c.registeredAt }, setWhere: sql`${customers.registeredAt} <= ${c.registeredAt.toISOString()}::timestamptz` });
}

export async function recordEmail(db: NotificationDb, row: typeof emails.$inferInsert): Promise<void> {
  await db.insert(emails).values(row);
}
