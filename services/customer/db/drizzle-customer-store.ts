import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { eq } from "drizzle-orm";
import type { Database } from "../../kit/db";
import { CustomerRegistered } from "../contract/events";
import { writeEvent } from "../../kit/events";
import type { Customer } from "../domain/customer";
import type { CustomerStore } from "../domain/customer-store";
import { customers } from "./schema";

export type CustomerDatabase = Database<{ customers: typeof customers }>;

/** Customers in the service's Postgres schema (or PGlite). */
export class DrizzleCustomerStore implements CustomerStore {
  constructor(private readonly db: CustomerDatabase) {}

  async insert(c: Customer) {
    return this.db.transaction(async (tx) => {
      // The unique constraint decides between racing registrations: the loser inserts nothing.
      const [row] = await tx.insert(customers).values(c).onConflictDoNothing({ target: customers.email }).returning();
      if (row) {
        const customer = { id: row.id, email: row.email, name: row.name, createdAt: timestampFromDate(row.createdAt) };
        await writeEvent(tx, CustomerRegistered, { customer }, { entityId: row.id });
      }
      return row;
    });
  }

  async get(id: string) {
    const [row] = await this.db.select().from(customers).where(eq(customers.id, id));
    return row;
  }

  async findByEmail(email: string) {
    const [row] = await this.db.select().from(customers).where(eq(customers.email, email));
    return row;
  }
}
