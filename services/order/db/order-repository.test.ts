// The order repository on both drivers (a real Postgres schema of this file's own, and PGlite in a
// temporary directory): its statements are built once (fixedQuery) and run on whichever database or
// transaction they are given, so each call must see its own values, decode its rows (bigint, timestamps),
// and a saga change must commit with what it announces, or not at all.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { serviceDatabasesOfFile } from "../../kit/testing";
import { DrizzleOrderRepository } from "./order-repository";
import * as schema from "./schema";
import { fromBinary } from "@bufbuild/protobuf";
import { OrderStatus } from "../../contracts/gen/shop/order/v1/order_service_pb";
import { OrderCancelledSchema } from "../../contracts/gen/shop/order/v1/events_pb";
import { PaymentRequestedSchema } from "../../contracts/gen/shop/payment/v1/events_pb";

const dbs = serviceDatabasesOfFile("order", schema, join(import.meta.dir, "migrations"), ["postgres", "pglite"]);

const newOrder = (
  totalMinor: bigint,
  lines = [{ lineNo: 1, productId: "sku-1", quantity: 1, unitPriceMinor: totalMinor }],
) => ({
  id: crypto.randomUUID(),
  customerId: crypto.randomUUID(),
  currency: "EUR",
  totalMinor,
  lines,
});

describe.each(["postgres", "pglite"] as const)("OrderStore on %s", (driver) => {
  const store = () => new DrizzleOrderRepository(dbs.on[driver]!.db);
  const outbox = async () => (await dbs.on[driver]!.db.select().from(schema.outbox)).map((r) => r.type);

  test("get returns each order with its own lines, decoded", async () => {
    const a = newOrder(3600n, [
      { lineNo: 1, productId: "sku-1", quantity: 1, unitPriceMinor: 1200n },
      { lineNo: 2, productId: "sku-2", quantity: 2, unitPriceMinor: 1200n },
    ]);
    const b = newOrder(9_007_199_254_740_993n); // beyond a double: stays exact
    await store().insert(a);
    await store().insert(b);
    const [ga, gb] = [await store().get(a.id), await store().get(b.id)];
    expect(ga).toMatchObject({
      id: a.id,
      state: "pending",
      target: "",
      totalMinor: 3600n,
      attempts: 0,
      refunded: false,
    });
    expect(ga!.createdAt).toBeInstanceOf(Date);
    expect(ga!.lines.map((l) => [l.lineNo, l.productId, l.quantity, l.unitPriceMinor])).toEqual([
      [1, "sku-1", 1, 1200n],
      [2, "sku-2", 2, 1200n],
    ]);
    expect(gb).toMatchObject({ id: b.id, totalMinor: 9_007_199_254_740_993n });
    expect(gb!.lines.map((l) => l.unitPriceMinor)).toEqual([9_007_199_254_740_993n]);
    expect(await store().get(crypto.randomUUID())).toBeUndefined();
    expect((await store().find(a.id))?.state).toBe("pending");
    expect(await store().find(crypto.randomUUID())).toBeUndefined();
  });

  test("orders of different numbers of lines each get exactly their own", async () => {
    for (const n of [3, 1, 3, 50]) {
      const lines = Array.from({ length: n }, (_, i) => ({
        lineNo: i + 1,
        productId: `sku-${n}-${i}`,
        quantity: i + 1,
        unitPriceMinor: 10n,
      }));
      const o = newOrder(BigInt(n) * 10n, lines);
      const stored = await store().insert(o);
      expect(stored.lines.map((l) => [l.lineNo, l.productId, l.quantity, l.unitPriceMinor])).toEqual(
        lines.map((l) => [l.lineNo, l.productId, l.quantity, 10n]),
      );
      expect((await store().get(o.id))!.lines.map((l) => l.productId)).toEqual(lines.map((l) => l.productId));
    }
  });

  test("claim takes the lease once until released; release frees it; a holder whose lease was taken over writes nothing", async () => {
    const o = newOrder(100n);
    await store().insert(o);
    const held = await store().claim(o.id, 30_000);
    expect(held?.order.id).toBe(o.id);
    expect(await store().claim(o.id, 30_000)).toBeUndefined();
    expect(await store().extend(o.id, held!.lease, 30_000)).toBe(true);
    await store().release(o.id, held!.lease);
    const short = await store().claim(o.id, 1);
    expect(short).toBeDefined();
    await Bun.sleep(20);
    // Its lease ran out: someone else takes the order; the first holder can neither write nor extend nor let go of it.
    const next = await store().claim(o.id, 30_000);
    expect(next).toBeDefined();
    await expect(
      store().record(o.id, { state: "reserving", target: "confirmed" }, { lease: short!.lease, leaseMs: 30_000 }),
    ).rejects.toThrow("taken over");
    expect(await store().extend(o.id, short!.lease, 30_000)).toBe(false);
    await store().release(o.id, short!.lease);
    expect(await store().claim(o.id, 30_000)).toBeUndefined();
    expect((await store().find(o.id))?.state).toBe("pending");
    expect(await store().claim(crypto.randomUUID(), 30_000)).toBeUndefined();
  });

  test("record changes only the fields given, extends the lease, announces a final state once, writes the payment command", async () => {
    const o = newOrder(500n);
    await store().insert(o);
    const { lease } = (await store().claim(o.id, 30_000))!;
    const at = { lease, leaseMs: 30_000 };
    const reserving = await store().record(
      o.id,
      { state: "reserving", target: "confirmed", cardToken: "tok_success" },
      at,
    );
    expect(reserving).toMatchObject({
      state: "reserving",
      target: "confirmed",
      cardToken: "tok_success",
      reservationId: "",
      totalMinor: 500n,
    });
    const reserved = await store().record(o.id, { state: "reserved", reservationId: "res-1" }, at);
    expect(reserved).toMatchObject({
      state: "reserved",
      target: "confirmed",
      reservationId: "res-1",
      cardToken: "tok_success",
    });
    const before = (await outbox()).length;
    await store().record(
      o.id,
      { state: "payment_pending", stateReason: "waiting", requestPayment: true },
      { ...at, recoverInMs: 60_000 },
    );
    const [command] = (await dbs.on[driver]!.db.select().from(schema.outbox)).slice(before);
    expect(command!.type).toBe("shop.payment.v1.PaymentRequested");
    const requested = fromBinary(PaymentRequestedSchema, command!.payload);
    expect(requested).toMatchObject({
      orderId: o.id,
      cardToken: "tok_success",
      idempotencyKey: `order-${o.id}`,
      amount: { amountMinor: 500n, currency: "EUR" },
    });
    await store().record(o.id, { state: "paid", paymentId: "pay-1" }, at);
    const confirmed = await store().record(o.id, { state: "confirmed", target: "", cardToken: "" }, at);
    expect(confirmed).toMatchObject({
      state: "confirmed",
      target: "",
      cardToken: "",
      reservationId: "res-1",
      paymentId: "pay-1",
      stateReason: "waiting",
    });
    const types = (await outbox()).slice(before);
    expect(types.filter((t) => t === "shop.order.v1.OrderConfirmed").length).toBe(1);
    // Recording again what is already so announces nothing.
    await store().record(o.id, { state: "confirmed" }, at);
    expect((await outbox()).slice(before).filter((t) => t === "shop.order.v1.OrderConfirmed").length).toBe(1);
  });

  test("a cancellation announces the refund and the status it was cancelled from", async () => {
    const o = newOrder(700n);
    await store().insert(o);
    const { lease } = (await store().claim(o.id, 30_000))!;
    await store().record(
      o.id,
      { state: "paid", target: "cancelled", paymentId: "pay-9", refunded: true },
      { lease, leaseMs: 1000 },
    );
    await store().record(o.id, { state: "cancelled", target: "", stateReason: "lost" }, { lease, leaseMs: 1000 });
    const [row] = (await dbs.on[driver]!.db.select().from(schema.outbox)).filter(
      (r) => r.type === "shop.order.v1.OrderCancelled" && r.entityId === o.id,
    );
    const event = fromBinary(OrderCancelledSchema, row!.payload);
    expect(event).toMatchObject({
      reason: "lost",
      refunded: { amountMinor: 700n, currency: "EUR" },
      previousStatus: OrderStatus.PAYMENT_PENDING,
    });
    expect(event.order?.status).toBe(OrderStatus.CANCELLED);
  });

  test("due: orders with a saga under way, once their time came and nobody holds them; failed attempts counted", async () => {
    const o = newOrder(100n);
    const done = newOrder(100n);
    await store().insert(o);
    await store().insert(done);
    const dueIds = async () => (await store().due(1000)).map((d) => d.id);
    const { lease } = (await store().claim(o.id, 60_000))!;
    await store().record(o.id, { state: "reserving", target: "confirmed" }, { lease, leaseMs: 60_000 });
    expect(await dueIds()).not.toContain(o.id); // leased
    await store().release(o.id, lease);
    expect(await dueIds()).toContain(o.id);
    const again = (await store().claim(o.id, 60_000))!.lease;
    const failed = await store().record(
      o.id,
      {},
      { lease: again, leaseMs: 0, recoverInMs: 60_000, failedAttempt: true },
    );
    expect(failed.attempts).toBe(1);
    expect(await dueIds()).not.toContain(o.id); // backing off
    expect(
      (await store().record(o.id, {}, { lease: again, leaseMs: 0, recoverInMs: 0, failedAttempt: true })).attempts,
    ).toBe(2);
    expect(await dueIds()).toContain(o.id);
    expect((await store().record(o.id, { state: "pending", target: "" }, { lease: again, leaseMs: 0 })).attempts).toBe(
      0,
    );
    expect(await dueIds()).not.toContain(o.id); // nothing under way
    expect(await dueIds()).not.toContain(done.id);
  });
});
