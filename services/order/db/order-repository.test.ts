// OrderStore on both drivers (a real Postgres schema of this file's own, and PGlite in a temporary
// directory): its statements are built once (fixedQuery) and run on whichever database or transaction
// they are given, so each call must see its own values, decode its rows (bigint, timestamps), and a state
// change must commit or roll back with its transaction.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { serviceDatabases, type ServiceDatabases } from "../../kit/testing/service-databases";
import { OrderStore } from "./order-store";
import * as schema from "./schema";

let dbs: ServiceDatabases<typeof schema>;

beforeAll(async () => {
  dbs = await serviceDatabases("order", schema, join(import.meta.dir, "migrations"), ["postgres", "pglite"]);
});

afterAll(() => dbs?.close());

const newOrder = (totalMinor: bigint) => {
  const now = new Date(Date.now() - 1000);
  return {
    id: crypto.randomUUID(),
    customerId: crypto.randomUUID(),
    state: "pending" as const,
    currency: "EUR",
    totalMinor,
    reservationId: "",
    paymentId: "",
    stateReason: "",
    createdAt: now,
    updatedAt: now,
  };
};

describe.each(["postgres", "pglite"] as const)("OrderStore on %s", (driver) => {
  const store = () => new OrderStore(dbs.on[driver]!.db);
  const outbox = async () => (await dbs.on[driver]!.db.select().from(schema.outbox)).map((r) => r.type);

  test("get returns each order with its own lines, decoded", async () => {
    const a = newOrder(3600n);
    const b = newOrder(9_007_199_254_740_993n); // beyond a double: stays exact
    await store().insert(a, [
      { lineNo: 1, productId: "sku-1", quantity: 1, unitPriceMinor: 1200n },
      { lineNo: 2, productId: "sku-2", quantity: 2, unitPriceMinor: 1200n },
    ]);
    await store().insert(b, [{ lineNo: 1, productId: "sku-9", quantity: 1, unitPriceMinor: 9_007_199_254_740_993n }]);
    const [ga, gb] = [await store().get(a.id), await store().get(b.id)];
    expect(ga).toMatchObject({ id: a.id, state: "pending", totalMinor: 3600n, leaseUntil: null });
    expect(ga!.createdAt).toBeInstanceOf(Date);
    expect(ga!.createdAt.getTime()).toBe(a.createdAt.getTime());
    expect(ga!.lines.map((l) => [l.lineNo, l.productId, l.quantity, l.unitPriceMinor])).toEqual([
      [1, "sku-1", 1, 1200n],
      [2, "sku-2", 2, 1200n],
    ]);
    expect(gb).toMatchObject({ id: b.id, totalMinor: 9_007_199_254_740_993n });
    expect(gb!.lines.map((l) => l.unitPriceMinor)).toEqual([9_007_199_254_740_993n]);
    expect(await store().get(crypto.randomUUID())).toBeUndefined();
    expect(await store().state(a.id)).toBe("pending");
    expect(await store().state(crypto.randomUUID())).toBeUndefined();
  });

  test("orders of different numbers of lines each get exactly their own", async () => {
    for (const n of [3, 1, 3, 50]) {
      const o = newOrder(BigInt(n) * 10n);
      const lines = Array.from({ length: n }, (_, i) => ({ lineNo: i + 1, productId: `sku-${n}-${i}`, quantity: i + 1, unitPriceMinor: 10n }));
      const stored = await store().insert(o, lines);
      expect(stored.lines.map((l) => [l.orderId, l.lineNo, l.productId, l.quantity, l.unitPriceMinor])).toEqual(lines.map((l) => [o.id, l.lineNo, l.productId, l.quantity, 10n]));
      expect((await store().get(o.id))!.lines).toEqual(stored.lines);
    }
  });

  test("claim takes the lease once until released; release frees it", async () => {
    const o = newOrder(100n);
    await store().insert(o, [{ lineNo: 1, productId: "sku-1", quantity: 1, unitPriceMinor: 100n }]);
    const claimed = await store().claim(o.id, 30_000);
    expect(claimed?.id).toBe(o.id);
    expect(claimed!.leaseUntil!.getTime()).toBeGreaterThan(Date.now() + 20_000);
    expect(await store().claim(o.id, 30_000)).toBeUndefined();
    await store().release(o.id);
    expect((await store().get(o.id))!.leaseUntil).toBeNull();
    expect((await store().claim(o.id, 30_000))?.id).toBe(o.id);
    expect(await store().claim(crypto.randomUUID(), 30_000)).toBeUndefined();
  });

  test("transition sets the state and only the fields given, writes its event, and rolls back with its transaction", async () => {
    const o = newOrder(500n);
    await store().insert(o, [{ lineNo: 1, productId: "sku-1", quantity: 5, unitPriceMinor: 100n }]);
    const reserved = await store().transition(o.id, "reserved", { reservationId: "res-1", stateReason: "" });
    expect(reserved).toMatchObject({ state: "reserved", reservationId: "res-1", paymentId: "", totalMinor: 500n });
    expect(reserved.updatedAt.getTime()).toBeGreaterThan(o.updatedAt.getTime());
    // A failing write in the same transaction undoes the state change.
    await expect(
      store().transition(o.id, "payment_pending", { stateReason: "waiting" }, async () => {
        throw new Error("roll back");
      }),
    ).rejects.toThrow("roll back");
    expect(await store().get(o.id)).toMatchObject({ state: "reserved", stateReason: "" });
    const before = (await outbox()).length;
    const confirmed = await store().transition(o.id, "confirmed", { paymentId: "pay-1" });
    expect(confirmed).toMatchObject({ state: "confirmed", reservationId: "res-1", paymentId: "pay-1" });
    const after = await outbox();
    expect(after.length).toBe(before + 1);
    expect(after.filter((t) => t.includes("OrderConfirmed")).length).toBe(1);
    const cancelled = await store().transition(o.id, "cancelled");
    expect(cancelled).toMatchObject({ state: "cancelled", reservationId: "res-1", paymentId: "pay-1", stateReason: "" });
  });
});
