// Every outcome of the order saga and every recovery path, in process over in-memory ports: what the
// order ends in, what it announced, what inventory and payment were asked, what they hold after.
import { describe, expect, test } from "bun:test";
import { OrderRefusal } from "../domain/refusal";
import { cancelOrder } from "./cancel-order";
import { confirmOrder } from "./confirm-order";
import { createOrder } from "./create-order";
import { recoverOrders } from "./recover-orders";
import { settlePaymentOutcome } from "./settle-payment-outcome";
import { inMemorySaga, type InMemorySaga } from "./testing/in-memory-ports";

const customerId = "0b7e0f7c-54a4-4d43-9d1b-1f5f7a0d3a11";

async function placed(w: InMemorySaga, quantity = 2) {
  w.inventory.product("sku-mug", 10, 1250n);
  const order = await createOrder(
    { orders: w.orders, inventory: w.inventory, customers: w.customers },
    { customerId, currency: "EUR", items: [{ productId: "sku-mug", quantity }] },
  );
  return order.id;
}

const refusalOf = async (p: Promise<unknown>) => {
  const e = await p.then(
    () => undefined,
    (x) => x,
  );
  expect(e).toBeInstanceOf(OrderRefusal);
  return e as OrderRefusal;
};

/** The charge payment's asynchronous path makes for an order: the order's key, tok_success, in EUR. */
const asyncCharge = (w: InMemorySaga, orderId: string, amountMinor: bigint) =>
  w.payments.charge({
    orderId,
    cardToken: "tok_success",
    idempotencyKey: `order-${orderId}`,
    amountMinor,
    currency: "EUR",
  });

const announced = (w: InMemorySaga, id: string) =>
  w.orders.published.filter((p) => p.orderId === id).map((p) => p.kind);
const stateOf = async (w: InMemorySaga, id: string) => {
  const o = (await w.orders.find(id))!;
  return { state: o.state, target: o.target };
};

/** Time passes until the lease of a crashed holder ran out and a recovery pass runs. */
/** A saga world of its own with an order placed, and confirmed once with this card token. */
async function placedAndConfirmed(cardToken: string) {
  const w = inMemorySaga();
  const id = await placed(w);
  return { w, id, order: await confirmOrder(w.deps, id, cardToken) };
}

async function recoverAfter(w: InMemorySaga, ms: number) {
  w.clock.advance(ms);
  return recoverOrders(w.deps);
}

describe("ConfirmOrder", () => {
  test("reserve → charge → commit: CONFIRMED, stock taken, one capture, created then confirmed announced", async () => {
    const { w, id, order } = await placedAndConfirmed("tok_success");
    expect(order).toMatchObject({ state: "confirmed", target: "", cardToken: "" });
    expect(order.paymentId).not.toBe("");
    expect(w.inventory.stock.get("sku-mug")).toEqual({ stock: 8, reserved: 0, priceMinor: 1250n });
    expect(w.payments.captures(id)).toBe(1);
    expect(announced(w, id)).toEqual(["created", "confirmed"]);
    // Confirming again answers the order, and asks nobody anything.
    const calls = w.payments.calls.length;
    expect((await confirmOrder(w.deps, id, "tok_success")).state).toBe("confirmed");
    expect(w.payments.calls.length).toBe(calls);
  });

  test("declined: the stock is given back, PAYMENT_FAILED with the reason and the declined payment", async () => {
    const { w, id, order } = await placedAndConfirmed("tok_declined");
    expect(order).toMatchObject({ state: "payment_failed", target: "", stateReason: "card declined by issuer" });
    expect(order.paymentId).not.toBe("");
    expect(w.inventory.held(id)).toBe(0);
    expect(announced(w, id)).toEqual(["created", "payment_failed"]);
    expect((await refusalOf(confirmOrder(w.deps, id, "tok_success"))).kind).toBe("not_allowed");
  });

  test("out of stock: refused, the order stays PENDING, nothing held, nothing charged", async () => {
    const w = inMemorySaga();
    const id = await placed(w);
    w.inventory.faults.fail("reserve", "refuse");
    const refusal = await refusalOf(confirmOrder(w.deps, id, "tok_success"));
    expect(refusal.kind).toBe("out_of_stock");
    expect(await stateOf(w, id)).toEqual({ state: "pending", target: "" });
    expect(w.payments.calls).toEqual([]);
    expect(announced(w, id)).toEqual(["created"]);
  });

  test("inventory answer lost after it reserved: refused as unavailable, and what it reserved is released by order id", async () => {
    const w = inMemorySaga();
    const id = await placed(w);
    w.inventory.faults.fail("reserve", "lost-answer");
    expect((await refusalOf(confirmOrder(w.deps, id, "tok_success"))).kind).toBe("unavailable");
    expect(w.inventory.calls).toContain(`release order ${id}`);
    expect(w.inventory.held(id)).toBe(0);
    expect(await stateOf(w, id)).toEqual({ state: "pending", target: "" });
    // The customer may simply confirm again.
    expect((await confirmOrder(w.deps, id, "tok_success")).state).toBe("confirmed");
  });

  test("inventory down for reserve and release: the recovery worker gives the units back once it is up", async () => {
    const w = inMemorySaga();
    const id = await placed(w);
    w.inventory.faults.fail("reserve", "lost-answer");
    w.inventory.faults.fail("release", "unavailable");
    expect((await refusalOf(confirmOrder(w.deps, id, "tok_success"))).kind).toBe("unavailable");
    expect(await stateOf(w, id)).toEqual({ state: "reserving", target: "pending" });
    expect(w.inventory.held(id)).toBe(2);
    expect(await recoverAfter(w, 100)).toEqual([]); // backing off
    const [report] = await recoverAfter(w, 1000);
    expect(report).toMatchObject({ orderId: id, from: "reserving", to: "pending", end: "finished" });
    expect(w.inventory.held(id)).toBe(0);
  });

  test("payment unavailable: PAYMENT_PENDING with a PaymentRequested command; its PaymentProcessed confirms", async () => {
    const w = inMemorySaga();
    const id = await placed(w);
    w.payments.faults.fail("charge", "unavailable");
    const waiting = await confirmOrder(w.deps, id, "tok_success");
    expect(waiting).toMatchObject({ state: "payment_pending", target: "confirmed" });
    expect(w.orders.published.find((p) => p.orderId === id && p.kind === "payment_requested")).toMatchObject({
      cardToken: "tok_success",
    });
    // Confirming again while payment works on it answers the order as it is.
    expect((await confirmOrder(w.deps, id, "tok_success")).state).toBe("payment_pending");
    expect((await refusalOf(cancelOrder(w.deps, id, ""))).kind).toBe("not_allowed");
    // Payment's asynchronous path charges (same key) and announces it.
    const charged = await asyncCharge(w, id, 2500n);
    await settlePaymentOutcome(
      w.deps,
      id,
      charged.kind === "done" ? charged.value : { captured: false, paymentId: "", reason: "" },
    );
    expect(await stateOf(w, id)).toEqual({ state: "confirmed", target: "" });
    expect(w.payments.captures(id)).toBe(1);
    expect(announced(w, id)).toEqual(["created", "payment_requested", "confirmed"]);
    // The outcome delivered again changes nothing.
    await settlePaymentOutcome(w.deps, id, { captured: true, paymentId: "whatever" });
    expect(announced(w, id)).toEqual(["created", "payment_requested", "confirmed"]);
  });

  test("payment's asynchronous charge failed: the stock is given back, PAYMENT_FAILED", async () => {
    const w = inMemorySaga();
    const id = await placed(w);
    w.payments.faults.fail("charge", "unavailable");
    await confirmOrder(w.deps, id, "tok_success");
    w.payments.declines.add("tok_success"); // the provider stayed away: payment declined the key for good
    const declined = await w.payments.charge({ orderId: id, cardToken: "tok_success", idempotencyKey: `order-${id}` });
    await settlePaymentOutcome(w.deps, id, {
      captured: false,
      paymentId: (declined as { value: { paymentId: string } }).value.paymentId,
      reason: "provider unavailable after 3 attempts",
    });
    expect(await w.orders.find(id)).toMatchObject({
      state: "payment_failed",
      target: "",
      stateReason: "provider unavailable after 3 attempts",
    });
    expect(w.inventory.held(id)).toBe(0);
  });

  test("an outcome payment does not confirm (forged, or wrong in any way) is refused as invalid and changes nothing", async () => {
    const w = inMemorySaga();
    const id = await placed(w);
    w.payments.faults.fail("charge", "unavailable");
    await confirmOrder(w.deps, id, "tok_success");
    const other = await placed(w, 1);
    const elsewhere = (await asyncCharge(w, other, 1250n)) as { value: { paymentId: string } };
    const mine = (await asyncCharge(w, id, 1n)) as { value: { paymentId: string } };
    for (const [outcome, why] of [
      [{ captured: true, paymentId: crypto.randomUUID() }, "payment knows no such payment"],
      [{ captured: true, paymentId: elsewhere.value.paymentId }, `it is for order ${other}`],
      [{ captured: true, paymentId: mine.value.paymentId }, "it is for 1 EUR"],
      [{ captured: false, paymentId: mine.value.paymentId, reason: "declined" }, "it is captured, not declined"],
    ] as const) {
      const refusal = await refusalOf(settlePaymentOutcome(w.deps, id, outcome as never));
      expect(refusal.kind).toBe("invalid");
      expect(refusal.message).toContain(why);
    }
    // A failure without a payment id cannot be checked: ignored, the recovery worker asks payment.
    await settlePaymentOutcome(w.deps, id, { captured: false, paymentId: "", reason: "forged" });
    expect(await stateOf(w, id)).toEqual({ state: "payment_pending", target: "confirmed" });
    expect(w.inventory.held(id)).toBe(2);
  });

  test("the charge's answer lost after it captured: PAYMENT_PENDING; the recovery worker finds the capture by key, never charges twice", async () => {
    const w = inMemorySaga();
    const id = await placed(w);
    w.payments.faults.fail("charge", "lost-answer");
    expect((await confirmOrder(w.deps, id, "tok_success")).state).toBe("payment_pending");
    expect(w.payments.captures(id)).toBe(1);
    // No outcome event arrives (say it was lost): after the grace period the worker asks payment itself.
    expect(await recoverAfter(w, 10_000)).toEqual([]);
    const [report] = await recoverAfter(w, 25_000);
    expect(report).toMatchObject({ from: "payment_pending", to: "confirmed" });
    expect(w.payments.captures(id)).toBe(1);
    expect(w.payments.calls.filter((c) => c.startsWith("charge")).length).toBe(2);
  });

  test("a caller's deadline too short for the charge: PAYMENT_PENDING at once, payment not called synchronously", async () => {
    const w = inMemorySaga();
    const id = await placed(w);
    const order = await confirmOrder(w.deps, id, "tok_success", { deadline: w.clock.now() + 2500 });
    expect(order.state).toBe("payment_pending");
    expect(w.payments.calls).toEqual([]);
    expect(order.stateReason).toContain("deadline");
    // Too short for even the first step: refused before anything is recorded.
    const other = await placed(w, 1);
    expect((await refusalOf(confirmOrder(w.deps, other, "tok_success", { deadline: w.clock.now() + 1200 }))).kind).toBe(
      "deadline",
    );
    expect(await stateOf(w, other)).toEqual({ state: "pending", target: "" });
  });

  test("commit refused (the reservation ran out while the charge landed): refunded and CANCELLED", async () => {
    const w = inMemorySaga();
    const id = await placed(w);
    w.inventory.faults.fail("commit", "refuse");
    const order = await confirmOrder(w.deps, id, "tok_success");
    expect(order).toMatchObject({ state: "cancelled", refunded: true, target: "" });
    expect(order.stateReason).toContain("reservation lost before confirmation");
    expect(w.payments.state(id)).toBe("refunded");
    expect(w.inventory.held(id)).toBe(0);
    const cancelled = w.orders.published.find((p) => p.orderId === id && p.kind === "cancelled");
    // Refunded, but never confirmed: its total never counted as spent.
    expect(cancelled).toMatchObject({ refunded: true, previousState: "paid" });
  });

  test("inventory down at commit: the order keeps its capture (PAYMENT_PENDING to the client) and the worker commits later", async () => {
    const w = inMemorySaga();
    const id = await placed(w);
    w.inventory.faults.fail("commit", "unavailable", 2);
    const order = await confirmOrder(w.deps, id, "tok_success");
    expect(order).toMatchObject({ state: "paid", target: "confirmed", attempts: 1 });
    expect(await recoverAfter(w, 600)).toMatchObject([{ from: "paid", to: "paid", end: "retry" }]);
    expect((await w.orders.find(id))!.attempts).toBe(2);
    expect(await recoverAfter(w, 600)).toEqual([]); // backing off: 1 s after the second failure
    expect(await recoverAfter(w, 500)).toMatchObject([{ from: "paid", to: "confirmed", end: "finished" }]);
    expect(w.payments.captures(id)).toBe(1);
    expect(announced(w, id)).toEqual(["created", "confirmed"]);
  });
});

describe("a crash mid-saga is finished by the recovery worker, once the dead holder's lease ran out", () => {
  test("after the capture, before it was recorded (the database went away): finished with the same key, one capture", async () => {
    const w = inMemorySaga();
    const id = await placed(w);
    // reserving, reserved recorded; the capture's record fails, and so does the lease's release.
    w.orders.failNextRecord = 0;
    const charge = w.payments.charge.bind(w.payments);
    w.payments.charge = async (req) => {
      const out = await charge(req);
      w.orders.failNextRecord = 1;
      return out;
    };
    await expect(confirmOrder(w.deps, id, "tok_success")).rejects.toThrow("CONNECTION_CLOSED");
    w.payments.charge = charge;
    w.orders.abandonLease(id, w.clock.now() + w.deps.leaseMs);
    expect(await stateOf(w, id)).toEqual({ state: "reserved", target: "confirmed" });
    expect(w.payments.captures(id)).toBe(1);
    expect(await recoverAfter(w, 1000)).toEqual([]); // the lease still holds it
    const [report] = await recoverAfter(w, w.deps.leaseMs);
    expect(report).toMatchObject({ from: "reserved", to: "confirmed", end: "finished" });
    expect(w.payments.captures(id)).toBe(1);
    expect(w.inventory.stock.get("sku-mug")).toMatchObject({ stock: 8, reserved: 0 });
  });

  test("while reserving: the order goes back to PENDING and whatever was reserved is released", async () => {
    const w = inMemorySaga();
    const id = await placed(w);
    // The process recorded its intent, reserved, and died before recording the reservation.
    const start = await w.orders.claim(id, w.deps.leaseMs);
    await w.orders.record(
      id,
      { state: "reserving", target: "confirmed", cardToken: "tok_success" },
      { lease: start!.lease, leaseMs: w.deps.leaseMs },
    );
    await w.inventory.reserve(id, [{ productId: "sku-mug", quantity: 2 }]);
    expect(start).toBeDefined();
    expect(w.inventory.held(id)).toBe(2);
    const [report] = await recoverAfter(w, w.deps.leaseMs + 1);
    expect(report).toMatchObject({ from: "reserving", to: "pending", end: "finished" });
    expect(w.inventory.held(id)).toBe(0);
    expect(w.payments.calls).toEqual([]);
    expect(await w.orders.find(id)).toMatchObject({ state: "pending", target: "", cardToken: "" });
  });

  test("reserved, the charge not yet asked for: charged with the recorded card token and confirmed", async () => {
    const w = inMemorySaga();
    const id = await placed(w);
    const held = await w.orders.claim(id, w.deps.leaseMs);
    const { reservationId } = (
      (await w.inventory.reserve(id, [{ productId: "sku-mug", quantity: 2 }])) as { value: { reservationId: string } }
    ).value;
    await w.orders.record(
      id,
      { state: "reserved", target: "confirmed", cardToken: "tok_success", reservationId },
      { lease: held!.lease, leaseMs: w.deps.leaseMs },
    );
    const [report] = await recoverAfter(w, w.deps.leaseMs + 1);
    expect(report).toMatchObject({ from: "reserved", to: "confirmed" });
    expect(w.payments.calls).toEqual([`charge ${id} tok_success`]);
  });

  test("a client's confirm of an interrupted order resumes it where it stopped, without a second charge", async () => {
    const w = inMemorySaga();
    const id = await placed(w);
    w.inventory.faults.fail("commit", "unavailable");
    expect((await confirmOrder(w.deps, id, "tok_success")).state).toBe("paid");
    expect((await confirmOrder(w.deps, id, "tok_success")).state).toBe("confirmed");
    expect(w.payments.captures(id)).toBe(1);
  });
});

test("a holder stalled past its lease (the database away, say) writes nothing once the recovery worker took the order over", async () => {
  const w = inMemorySaga();
  const id = await placed(w);
  // A charge that hangs past the lease: the heartbeat cannot keep it (its clock does not move), the worker takes over.
  let release!: () => void;
  const charge = w.payments.charge.bind(w.payments);
  w.payments.charge = async (req) => {
    await new Promise<void>((r) => (release = r));
    return charge(req);
  };
  w.orders.extend = async () => false;
  const stalled = confirmOrder(w.deps, id, "tok_success").then(
    () => undefined,
    (e) => e,
  );
  await waitUntil(() => release !== undefined);
  w.payments.charge = charge;
  expect(await recoverAfter(w, w.deps.leaseMs + 1)).toMatchObject([{ from: "reserved", to: "confirmed" }]);
  release();
  const refusal = (await stalled) as OrderRefusal;
  expect(refusal.kind).toBe("busy");
  expect(await w.orders.find(id)).toMatchObject({ state: "confirmed", target: "" });
  expect(w.payments.captures(id)).toBe(1);
  expect(announced(w, id)).toEqual(["created", "confirmed"]);
});

const waitUntil = async (ok: () => boolean) => {
  for (let i = 0; i < 1000 && !ok(); i++) await Bun.sleep(1);
};

describe("CancelOrder", () => {
  test("a confirmed order is refunded; the cancellation says so and that it had been confirmed", async () => {
    const w = inMemorySaga();
    const id = await placed(w);
    await confirmOrder(w.deps, id, "tok_success");
    const order = await cancelOrder(w.deps, id, "changed my mind");
    expect(order).toMatchObject({ state: "cancelled", refunded: true, stateReason: "changed my mind" });
    expect(w.payments.state(id)).toBe("refunded");
    expect(w.orders.published.at(-1)).toMatchObject({ kind: "cancelled", refunded: true, previousState: "confirmed" });
    // Again: answered, nothing refunded twice.
    expect((await cancelOrder(w.deps, id, "")).state).toBe("cancelled");
    expect(w.payments.calls.filter((c) => c.startsWith("refund")).length).toBe(1);
  });

  test("a pending order is just cancelled; nothing to give back, no refund announced", async () => {
    const w = inMemorySaga();
    const id = await placed(w);
    expect(await cancelOrder(w.deps, id, "")).toMatchObject({
      state: "cancelled",
      refunded: false,
      stateReason: "cancelled by request",
    });
    expect(w.inventory.calls).toEqual([]);
    expect(w.orders.published.at(-1)).toMatchObject({ kind: "cancelled", refunded: false, previousState: "pending" });
  });

  test("a paid order whose commit is stuck: refunded and released", async () => {
    const w = inMemorySaga();
    const id = await placed(w);
    w.inventory.faults.fail("commit", "unavailable");
    await confirmOrder(w.deps, id, "tok_success");
    const order = await cancelOrder(w.deps, id, "too slow");
    expect(order).toMatchObject({ state: "cancelled", refunded: true });
    expect(w.inventory.held(id)).toBe(0);
    expect(w.payments.state(id)).toBe("refunded");
  });

  test("payment down: the caller hears it; the recovery worker refunds and cancels later", async () => {
    const w = inMemorySaga();
    const id = await placed(w);
    await confirmOrder(w.deps, id, "tok_success");
    w.payments.faults.fail("refund", "unavailable");
    expect((await refusalOf(cancelOrder(w.deps, id, "bye"))).kind).toBe("unavailable");
    expect(await stateOf(w, id)).toEqual({ state: "confirmed", target: "cancelled" });
    // Confirming is refused while it is being cancelled.
    expect((await refusalOf(confirmOrder(w.deps, id, "tok_success"))).kind).toBe("not_allowed");
    expect(await recoverAfter(w, 1000)).toMatchObject([{ from: "confirmed", to: "cancelled" }]);
    expect(w.payments.state(id)).toBe("refunded");
  });

  test("a held order is busy; an unknown one is not found", async () => {
    const w = inMemorySaga();
    const id = await placed(w);
    await w.orders.claim(id, 60_000);
    expect((await refusalOf(cancelOrder(w.deps, id, ""))).kind).toBe("busy");
    expect((await refusalOf(confirmOrder(w.deps, id, "tok_success"))).kind).toBe("busy");
    expect((await refusalOf(cancelOrder(w.deps, crypto.randomUUID(), ""))).kind).toBe("not_found");
  });
});

describe("CreateOrder", () => {
  test("a customer that does not exist, a product out of stock, a product on two lines: refused, nothing stored", async () => {
    const w = inMemorySaga();
    w.inventory.product("sku-mug", 1);
    const deps = { orders: w.orders, inventory: w.inventory, customers: w.customers };
    const unknown = { orders: w.orders, inventory: w.inventory, customers: { exists: async () => false } };
    expect(
      (
        await refusalOf(
          createOrder(unknown, { customerId, currency: "EUR", items: [{ productId: "sku-mug", quantity: 1 }] }),
        )
      ).kind,
    ).toBe("not_found");
    expect(
      (
        await refusalOf(
          createOrder(deps, { customerId, currency: "EUR", items: [{ productId: "sku-mug", quantity: 2 }] }),
        )
      ).kind,
    ).toBe("out_of_stock");
    const twice = [
      { productId: "sku-mug", quantity: 1 },
      { productId: "sku-mug", quantity: 1 },
    ];
    expect((await refusalOf(createOrder(deps, { customerId, currency: "EUR", items: twice }))).kind).toBe("invalid");
    expect(w.orders.rows.size).toBe(0);
  });
});
