// The notification store on both drivers (a Postgres schema of this file's own, and PGlite in a temporary
// directory): its statements are built once (fixedQuery), so each call must see its own values and
// decode its rows; a customer's copy only moves forward in time.
import { describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { join } from "node:path";
import { serviceDatabasesOfFile } from "../../kit/testing";
import { findCustomer, recordEmail, saveCustomer } from "./notification-store";
import * as schema from "./schema";

const dbs = serviceDatabasesOfFile("notification", schema, join(import.meta.dir, "migrations"), ["postgres", "pglite"]);

describe.each(["postgres", "pglite"] as const)("the notification store on %s", (driver) => {
  test("a customer's copy: found as saved, a newer registration replaces it, an older one does not", async () => {
    const db = dbs.on[driver]!.db;
    const id = crypto.randomUUID();
    expect(await findCustomer(db, id)).toBeUndefined();
    const first = { id, email: "ada@example.com", name: "Ada", registeredAt: new Date("2026-01-01T10:00:00.000Z") };
    await saveCustomer(db, first);
    expect(await findCustomer(db, id)).toEqual(first);
    const newer = {
      id,
      email: "ada@new.example.com",
      name: "Ada L.",
      registeredAt: new Date("2026-02-01T10:00:00.000Z"),
    };
    await saveCustomer(db, newer);
    await saveCustomer(db, {
      id,
      email: "old@example.com",
      name: "Old",
      registeredAt: new Date("2025-12-01T10:00:00.000Z"),
    });
    expect(await findCustomer(db, id)).toEqual(newer);
    // Another customer is untouched.
    const other = {
      id: crypto.randomUUID(),
      email: "bob@example.com",
      name: "Bob",
      registeredAt: new Date("2026-03-01T00:00:00.000Z"),
    };
    await saveCustomer(db, other);
    expect(await findCustomer(db, other.id)).toEqual(other);
    expect(await findCustomer(db, id)).toEqual(newer);
  });

  test("an e-mail row, with the database's time, committed or rolled back with its transaction", async () => {
    const db = dbs.on[driver]!.db;
    const row = (eventId: string) => ({
      eventId,
      kind: "order_confirmed" as const,
      orderId: crypto.randomUUID(),
      customerId: crypto.randomUUID(),
      recipient: "ada@example.com",
      subject: "Confirmed",
      messageId: `<${eventId}@notification.shop>`,
    });
    const kept = row(crypto.randomUUID());
    const before = Date.now() - 60_000;
    await db.transaction(async (tx) => recordEmail(tx, kept));
    const dropped = row(crypto.randomUUID());
    await expect(
      db.transaction(async (tx) => {
        await recordEmail(tx, dropped);
        throw new Error("roll back");
      }),
    ).rejects.toThrow("roll back");
    const [stored] = await db.select().from(schema.emails).where(eq(schema.emails.eventId, kept.eventId));
    expect(stored).toMatchObject(kept);
    expect(stored!.sentAt.getTime()).toBeGreaterThan(before);
    expect(await db.select().from(schema.emails).where(eq(schema.emails.eventId, dropped.eventId))).toEqual([]);
  });
});
