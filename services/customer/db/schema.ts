import { sql } from "drizzle-orm";
import { check, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { outboxTable } from "../../kit/events";

/**
 * One row per registered customer. E-mails are stored lower-cased (the check makes that a fact the
 * database holds, not a habit of the code), so the unique constraint compares them case-insensitively
 * and concurrent registrations of one address cannot both win.
 */
export const customers = pgTable(
  "customers",
  {
    id: uuid("id").primaryKey(),
    email: text("email").notNull().unique(),
    name: text("name").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull(),
  },
  (t) => [check("customers_email_lower_case", sql`${t.email} = lower(${t.email})`)],
);

/** CustomerRegistered events, written with the registration and published by the kit's relay. */
export const outbox = outboxTable();
