// fixedQuery on a real Postgres (a schema of this file's own): a statement built once runs on the
// transaction it is given each time (not on the database it was first built with), with each call's
// values, through the columns' encoders.
import { describe, expect, test } from "bun:test";
import { eq, sql } from "drizzle-orm";
import { join } from "node:path";
import * as paymentSchema from "../../payment/db/schema";
import { serviceDatabasesOfFile } from "../testing/service-databases";
import { outboxTable } from "../events/outbox/outbox-table";
import { PREPARED } from "../events/prepared";
import { arrayParameter, fixedQuery } from "./fixed-query";

const outbox = outboxTable();
const dbs = serviceDatabasesOfFile("payment", paymentSchema, join(import.meta.dir, "../../payment/db/migrations"));
/** The payment schema's database on Postgres. */
const db = () => dbs.on.postgres!;

const insert = fixedQuery(PREPARED.outboxInsert, (db) =>
  db
    .insert(outbox)
    .values({
      id: sql.placeholder("id"),
      subject: "s",
      type: "t",
      traceparent: "x",
      payload: sql.placeholder("payload"),
    })
    .returning({ id: outbox.id }),
);
const row = async (id: string) => (await db().db.select().from(outbox).where(eq(outbox.id, id)))[0];

describe("fixedQuery", () => {
  test("runs in the transaction it is given: rolled back with it, committed with it, each call with its own values", async () => {
    const [a, b, c] = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
    // Built on the database itself by the first call.
    expect(await insert(db().db, { id: a, payload: new Uint8Array([1, 2]) })).toEqual([{ id: a }]);
    await expect(
      db().db.transaction(async (tx) => {
        await insert(tx, { id: b, payload: new Uint8Array([3]) });
        throw new Error("roll back");
      }),
    ).rejects.toThrow("roll back");
    await db().db.transaction(async (tx) => {
      await insert(tx, { id: c, payload: new Uint8Array([4, 5, 6]) });
      // Not yet visible outside the transaction.
      expect(
        (await dbs.schemas.sql.unsafe(`select 1 from "${dbs.schemas.schema("payment")}".outbox where id = $1`, [c]))
          .length,
      ).toBe(0);
    });
    expect((await row(a))?.payload).toEqual(new Uint8Array([1, 2]));
    expect(await row(b)).toBeUndefined();
    expect((await row(c))?.payload).toEqual(new Uint8Array([4, 5, 6]));
  });
});

test("arrayParameter: any values, quotes, backslashes, commas and braces included, arrive as one text[]", async () => {
  const values = ["plain", 'with "quotes"', "back\\slash", "a,b", "{braces}", "", "NULL", " spaced "];
  const rows = await dbs.schemas.sql.unsafe<{ v: string }[]>("select unnest($1::text[]) as v", [
    arrayParameter(values),
  ]);
  expect(rows.map((r) => r.v)).toEqual(values);
  expect((await dbs.schemas.sql.unsafe("select unnest($1::uuid[]) as v", [arrayParameter([])])).length).toBe(0);
});
