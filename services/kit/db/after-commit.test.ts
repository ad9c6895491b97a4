// afterCommit on a real Postgres (the test database, a schema of this file's own): callbacks run once
// the transaction's writes are visible to others, never for a rolled-back one; and the outbox's NOTIFY
// that now follows the commit still reaches a listener.
import { describe, expect, test } from "bun:test";
import { eq, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/postgres-js";
import { join } from "node:path";
import postgres from "postgres";
import * as paymentSchema from "../../payment/db/schema";
import { PaymentProcessed } from "../../payment/contract/events";
import { outboxChannel, writeEvent } from "../events/outbox/outbox";
import { outboxTable } from "../events/outbox/outbox-table";
import { serviceDatabasesOfFile } from "../testing/service-databases";
import { TEST_DATABASE_URL } from "../testing/test-database";
import { waitFor } from "../testing/service-process";
import { afterCommit } from "./after-commit";

const outbox = outboxTable();
const dbs = serviceDatabasesOfFile("payment", paymentSchema, join(import.meta.dir, "../../payment/db/migrations"));
/** The payment schema's database on Postgres. */
const db = () => dbs.on.postgres!;

const row = () => ({
  id: crypto.randomUUID(),
  subject: "payments.processed",
  type: "t",
  traceparent: "x",
  payload: new Uint8Array([1]),
});
/** Whether another session sees the outbox row `id` (committed). */
const visible = async (id: string) =>
  (await dbs.schemas.sql.unsafe(`select 1 from "${dbs.schemas.schema("payment")}".outbox where id = $1`, [id]))
    .length === 1;

describe("afterCommit", () => {
  test("runs after the commit, when the writes are visible to other sessions", async () => {
    const r = row();
    const seen: boolean[] = [];
    let callbacks = 0;
    await db().db.transaction(async (tx) => {
      await tx.insert(outbox).values(r);
      expect(afterCommit(tx, () => void callbacks++)).toBe(true);
      expect(afterCommit(tx, () => void visible(r.id).then((v) => seen.push(v)))).toBe(true);
      expect(callbacks).toBe(0);
    });
    expect(callbacks).toBe(1);
    await waitFor(() => seen.length === 1, { what: "the visibility check" });
    expect(seen).toEqual([true]);
  });

  test("a rolled-back transaction runs nothing", async () => {
    const r = row();
    let callbacks = 0;
    const failed = db().db.transaction(async (tx) => {
      await tx.insert(outbox).values(r);
      afterCommit(tx, () => void callbacks++);
      throw new Error("changed my mind");
    });
    await expect(failed).rejects.toThrow("changed my mind");
    expect(callbacks).toBe(0);
    expect(await visible(r.id)).toBe(false);
  });

  test("a transaction whose COMMIT fails (a deferred constraint) runs nothing", async () => {
    // Checked only at COMMIT: the transaction body succeeds, the commit does not.
    await dbs.schemas.sql.unsafe(
      `create table if not exists "${db().schema}".deferred_parent (id int primary key, parent int references "${db().schema}".deferred_parent (id) deferrable initially deferred)`,
    );
    let callbacks = 0;
    const failed = db().db.transaction(async (tx) => {
      await tx.execute(sql`insert into deferred_parent values (1, 2)`);
      afterCommit(tx, () => void callbacks++);
    });
    await expect(failed).rejects.toThrow(/foreign key/);
    expect(callbacks).toBe(0);
  });

  test("a savepoint's callbacks wait for the outer commit", async () => {
    const r = row();
    let callbacks = 0;
    await db().db.transaction(async (tx) => {
      await tx.transaction(async (inner) => {
        await inner.insert(outbox).values(r);
        expect(afterCommit(inner, () => void callbacks++)).toBe(true);
      });
      expect(callbacks).toBe(0);
    });
    expect(callbacks).toBe(1);
    expect(await visible(r.id)).toBe(true);
  });

  test("a savepoint rolled back runs none of its callbacks, though the outer transaction commits", async () => {
    let callbacks = 0;
    await db().db.transaction(async (tx) => {
      await tx
        .transaction(async (inner) => {
          await inner.insert(outbox).values(row());
          afterCommit(inner, () => void callbacks++);
          throw new Error("undo the savepoint");
        })
        .catch(() => {});
      afterCommit(tx, () => void (callbacks += 10));
    });
    expect(callbacks).toBe(10);
  });

  test("on the database itself (statements commit as they return) it runs at once", async () => {
    let callbacks = 0;
    await db().db.insert(outbox).values(row());
    expect(afterCommit(db().db, () => void callbacks++)).toBe(true);
    expect(callbacks).toBe(1);
  });

  test("a database it does not track: false, nothing run (the caller works inside the transaction)", async () => {
    const client = postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => {} });
    try {
      let callbacks = 0;
      const untracked = drizzle(client);
      await untracked.transaction(async (tx) => {
        expect(afterCommit(tx as never, () => void callbacks++)).toBe(false);
      });
      expect(afterCommit(untracked as never, () => void callbacks++)).toBe(false);
      expect(callbacks).toBe(0);
    } finally {
      await client.end();
    }
  });
});

describe("writeEvent's NOTIFY", () => {
  test("follows the commit: a listener hears it and then finds the row", async () => {
    const id = crypto.randomUUID();
    const heard: boolean[] = [];
    const { unlisten } = await dbs.schemas.sql.listen(outboxChannel(db().schema), async () => {
      heard.push(await visible(id));
    });
    try {
      await db().db.transaction((tx) =>
        writeEvent(tx, PaymentProcessed, { paymentId: crypto.randomUUID(), orderId: crypto.randomUUID() }, { id }),
      );
      await waitFor(() => heard.length > 0, { what: "the outbox NOTIFY" });
      expect(heard[0]).toBe(true);
      const [stored] = await db().db.select().from(outbox).where(eq(outbox.id, id));
      expect(stored?.type).toBe("shop.payment.v1.PaymentProcessed");
    } finally {
      await unlisten();
    }
  });
});
