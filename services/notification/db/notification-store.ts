import { eq, sql } from "drizzle-orm";
import { type Database, fixedQuery } from "../../kit/db";
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

// An event's statements, built by drizzle once and prepared (see fixedQuery). Times go as ISO text cast in SQL.
const customerById = fixedQuery("notification_customer", (db) =>
  db
    .select()
    .from(customers)
    .where(eq(customers.id, sql.placeholder("id"))),
);
const upsertCustomer = fixedQuery("notification_customer_upsert", (db) => {
  const registeredAt = sql`${sql.placeholder("registeredAt")}::timestamptz`;
  return db
    .insert(customers)
    .values({ id: sql.placeholder("id"), email: sql.placeholder("email"), name: sql.placeholder("name"), registeredAt })
    .onConflictDoUpdate({
      target: customers.id,
      set: { email: sql`excluded.email`, name: sql`excluded.name`, registeredAt: sql`excluded.registered_at` },
      setWhere: sql`${customers.registeredAt} <= excluded.registered_at`,
    });
});
const insertEmail = fixedQuery("notification_email_insert", (db) =>
  db.insert(emails).values({
    eventId: sql.placeholder("eventId"),
    kind: sql.placeholder("kind"),
    orderId: sql.placeholder("orderId"),
    customerId: sql.placeholder("customerId"),
    recipient: sql.placeholder("recipient"),
    subject: sql.placeholder("subject"),
    messageId: sql.placeholder("messageId"),
  }),
);

export async function findCustomer(db: NotificationDb, id: string): Promise<KnownCustomer | undefined> {
  const [row] = await customerById(db, { id });
  return row;
}

/** Keeps the newest copy: a replayed old registration does not overwrite a later one. */
export async function saveCustomer(db: NotificationDb, c: KnownCustomer): Promise<void> {
  await upsertCustomer(db, { id: c.id, email: c.email, name: c.name, registeredAt: c.registeredAt.toISOString() });
}

/** The e-mail's row; sent_at is the database's now(). */
export async function recordEmail(db: NotificationDb, row: Omit<typeof emails.$inferInsert, "sentAt">): Promise<void> {
  await insertEmail(db, row);
}
