// The payment service on real Postgres, as replicas run it: several payment processes sharing one
// schema. Idempotency holds across processes, an order is captured at most once, a caller that gives
// up captures nothing, and a claim left by a crashed process does not block its key for ever.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { PaymentService, PaymentStatus } from "../../services/contracts/gen/shop/payment/v1/payment_service_pb";
import { startServiceProcess, waitFor, type ServiceProcess, testSchemas } from "../../services/kit/testing";

type PaymentClient = Client<typeof PaymentService>;

const dbs = testSchemas();
const table = dbs.sql(`${dbs.schema("payment")}.payments`);
// Two replicas on one schema; waiters may wait long enough for a crashed claim's lease to run out.
let a: ServiceProcess;
let b: ServiceProcess;
// A replica that waits only 300 ms for a racing call before it answers Aborted.
let impatient: ServiceProcess;
// A replica whose provider calls time out after 2.5 s (tok_slow needs 3 s), with a 3 s claim lease.
let shortLease: ServiceProcess | undefined;
let onA: PaymentClient;
let onB: PaymentClient;
let onImpatient: PaymentClient;

beforeAll(async () => {
  const env = dbs.env("payment");
  [a, b, impatient, shortLease] = await Promise.all([
    startServiceProcess("payment", { env: { ...env, PAYMENT_PENDING_WAIT_MS: "15000" } }),
    startServiceProcess("payment", { env: { ...env, PAYMENT_PENDING_WAIT_MS: "15000" } }),
    startServiceProcess("payment", { env: { ...env, PAYMENT_PENDING_WAIT_MS: "300" } }),
    startServiceProcess("payment", {
      env: { ...env, PAYMENT_PROVIDER_TIMEOUT_MS: "2500", PAYMENT_CLAIM_LEASE_MS: "3000" },
    }),
  ]);
  onA = createClient(PaymentService, createConnectTransport({ baseUrl: a.http, httpVersion: "1.1" }));
  onB = createClient(PaymentService, createGrpcTransport({ baseUrl: b.grpc! }));
  onImpatient = createClient(PaymentService, createConnectTransport({ baseUrl: impatient.http, httpVersion: "1.1" }));
});
afterAll(async () => {
  await Promise.all([a, b, impatient, shortLease].map((p) => p?.stop()));
  await dbs.drop();
});

const charge = (
  over: Partial<{ orderId: string; amountMinor: bigint; cardToken: string; idempotencyKey: string }> = {},
) => {
  const {
    orderId = crypto.randomUUID(),
    amountMinor = 2500n,
    cardToken = "tok_success",
    idempotencyKey = crypto.randomUUID(),
  } = over;
  return { orderId, amount: { amountMinor, currency: "EUR" }, cardToken, idempotencyKey };
};

const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (e) => ConnectError.from(e),
  );

const rowsByKey = (key: string) => dbs.sql`select * from ${table} where idempotency_key = ${key}`;
const rowsByOrder = (orderId: string) => dbs.sql`select * from ${table} where order_id = ${orderId}`;

/** payment_provider_charges_total by outcome, summed over the given processes' /metrics. */
async function providerCharges(...procs: ServiceProcess[]) {
  const sums = { captured: 0, declined: 0, transient: 0, abandoned: 0 };
  for (const p of procs) {
    const text = await (await fetch(`${p.http}/metrics`)).text();
    for (const m of text.matchAll(/^payment_provider_charges_total\{[^}]*outcome="(\w+)"[^}]*\} (\d+)$/gm))
      sums[m[1] as keyof typeof sums] += Number(m[2]);
  }
  return { ...sums, total: Object.values(sums).reduce((x, y) => x + y, 0) };
}

describe("provider outcomes, as stored", () => {
  test("tok_success is captured and stored captured", async () => {
    const req = charge();
    const { payment } = await onA.processPayment(req);
    expect(payment).toMatchObject({
      status: PaymentStatus.CAPTURED,
      orderId: req.orderId,
      idempotencyKey: req.idempotencyKey,
      declineReason: "",
    });
    expect(payment!.amount).toMatchObject({ amountMinor: 2500n, currency: "EUR" });
    const [row] = await rowsByKey(req.idempotencyKey);
    expect(row).toMatchObject({
      id: payment!.id,
      state: "captured",
      amount_minor: "2500",
      currency: "EUR",
      claim_expires_at: null,
    });
    // Another replica reads what the first one stored.
    expect((await onB.getPaymentStatus({ paymentId: payment!.id })).payment).toEqual(payment);
  });

  test("tok_declined and unknown tokens are declined with the reason, stored declined", async () => {
    for (const [token, reason] of [
      ["tok_declined", "card declined by issuer"],
      ["tok_stolen", "unknown card token"],
    ]) {
      const req = charge({ cardToken: token });
      const { payment } = await onA.processPayment(req);
      expect(payment).toMatchObject({ status: PaymentStatus.DECLINED, declineReason: reason });
      const rows = await rowsByKey(req.idempotencyKey);
      expect(rows.map((r) => [r.state, r.decline_reason])).toEqual([["declined", reason]]);
    }
  });

  test("tok_transient is Unavailable and leaves no row", async () => {
    const req = charge({ cardToken: "tok_transient" });
    const err = await failure(onA.processPayment(req));
    expect(err.code).toBe(Code.Unavailable);
    expect(await rowsByKey(req.idempotencyKey)).toHaveLength(0);
  });

  test("tok_slow is captured after about 3 s", async () => {
    const started = Date.now();
    const { payment } = await onB.processPayment(charge({ cardToken: "tok_slow" }));
    expect(payment?.status).toBe(PaymentStatus.CAPTURED);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2900);
  });
});

describe("one charge per idempotency key, across replicas", () => {
  for (const token of ["tok_success", "tok_slow"]) {
    test(`30 concurrent calls with one key (${token}), split over two processes: one row, one provider charge`, async () => {
      const before = await providerCharges(a, b);
      const req = charge({ cardToken: token });
      const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? onA : onB).processPayment(req)));
      const ids = new Set(answers.map((r) => r.payment!.id));
      expect(ids.size).toBe(1);
      expect(answers.every((r) => r.payment!.status === PaymentStatus.CAPTURED)).toBe(true);
      const rows = await rowsByKey(req.idempotencyKey);
      expect(rows.map((r) => [r.id, r.state])).toEqual([[[...ids][0], "captured"]]);
      const after = await providerCharges(a, b);
      expect(after.total - before.total).toBe(1);
      expect(after.captured - before.captured).toBe(1);
    });
  }

  test("the same key with another amount or order is FailedPrecondition naming idempotency_key, and changes nothing", async () => {
    const req = charge();
    const { payment } = await onA.processPayment(req);
    for (const other of [
      { ...req, amount: { amountMinor: 9999n, currency: "EUR" } },
      { ...req, orderId: crypto.randomUUID() },
    ]) {
      const err = await failure(onB.processPayment(other));
      expect(err.code).toBe(Code.FailedPrecondition);
      expect(err.rawMessage).toContain(`idempotency_key ${req.idempotencyKey}`);
    }
    const rows = await rowsByKey(req.idempotencyKey);
    expect(rows.map((r) => [r.id, r.order_id, r.amount_minor])).toEqual([[payment!.id, req.orderId, "2500"]]);
  });

  test("a second key for an order already captured is FailedPrecondition naming the payment", async () => {
    const first = charge();
    const { payment } = await onA.processPayment(first);
    const before = await providerCharges(a, b);
    const err = await failure(onB.processPayment(charge({ orderId: first.orderId })));
    expect(err.code).toBe(Code.FailedPrecondition);
    expect(err.rawMessage).toBe(`order ${first.orderId} already paid by payment ${payment!.id}`);
    expect((await rowsByOrder(first.orderId)).map((r) => r.id)).toEqual([payment!.id]);
    expect((await providerCharges(a, b)).total).toBe(before.total);
  });

  test("two keys for one order racing: one capture, the other FailedPrecondition", async () => {
    const orderId = crypto.randomUUID();
    const [x, y] = await Promise.allSettled([
      onA.processPayment(charge({ orderId, cardToken: "tok_slow" })),
      onB.processPayment(charge({ orderId })),
    ]);
    const captured = [x, y].filter((r) => r.status === "fulfilled");
    const refused = [x, y]
      .filter((r) => r.status === "rejected")
      .map((r) => ConnectError.from((r as PromiseRejectedResult).reason));
    expect(captured).toHaveLength(1);
    expect(refused.map((e) => e.code)).toEqual([Code.FailedPrecondition]);
    expect(refused[0].rawMessage).toContain("already paid");
    expect((await rowsByOrder(orderId)).map((r) => r.state)).toEqual(["captured"]);
  });

  test("a transient failure, then a retry with the same key, is captured", async () => {
    const before = await providerCharges(a, b);
    const req = charge({ cardToken: "tok_transient" });
    expect((await failure(onA.processPayment(req))).code).toBe(Code.Unavailable);
    const { payment } = await onB.processPayment({ ...req, cardToken: "tok_success" });
    expect(payment?.status).toBe(PaymentStatus.CAPTURED);
    expect((await rowsByKey(req.idempotencyKey)).map((r) => r.state)).toEqual(["captured"]);
    const after = await providerCharges(a, b);
    expect([after.transient - before.transient, after.captured - before.captured]).toEqual([1, 1]);
  });

  test("a racing call that waits longer than PAYMENT_PENDING_WAIT_MS is Aborted; its retry gets the payment", async () => {
    const req = charge({ cardToken: "tok_slow" });
    const slow = onA.processPayment(req);
    await waitFor(async () => (await rowsByKey(req.idempotencyKey))[0]?.state === "pending", {
      what: "the pending claim",
    });
    const err = await failure(onImpatient.processPayment(req));
    expect(err.code).toBe(Code.Aborted);
    expect(err.rawMessage).toContain(`idempotency_key ${req.idempotencyKey} is still being processed`);
    const { payment } = await slow;
    expect((await onImpatient.processPayment(req)).payment?.id).toBe(payment!.id);
  });
});

describe("callers and processes that give up", () => {
  test("a deadline shorter than tok_slow captures nothing and removes the claim", async () => {
    const before = await providerCharges(a);
    const req = charge({ cardToken: "tok_slow" });
    const err = await failure(onA.processPayment(req, { timeoutMs: 1000 }));
    expect(err.code).toBe(Code.DeadlineExceeded);
    // The server saw the deadline too: the provider call was abandoned and the claim removed.
    await waitFor(async () => (await providerCharges(a)).abandoned === before.abandoned + 1, {
      what: "the provider call to be abandoned",
    });
    await waitFor(async () => (await rowsByKey(req.idempotencyKey)).length === 0, { what: "the claim to be removed" });
    expect((await providerCharges(a)).captured).toBe(before.captured);
    expect(await dbs.sql`select 1 from ${table} where order_id = ${req.orderId} and state = 'captured'`).toHaveLength(
      0,
    );
    // The key is free again.
    expect((await onA.processPayment({ ...req, cardToken: "tok_success" })).payment?.status).toBe(
      PaymentStatus.CAPTURED,
    );
  });

  test("a provider slower than PAYMENT_PROVIDER_TIMEOUT_MS is Unavailable and leaves no row", async () => {
    const client = createClient(
      PaymentService,
      createConnectTransport({ baseUrl: shortLease!.http, httpVersion: "1.1" }),
    );
    const req = charge({ cardToken: "tok_slow" });
    const err = await failure(client.processPayment(req));
    expect(err.code).toBe(Code.Unavailable);
    expect(err.rawMessage).toBe("the card provider did not answer within 2500 ms");
    expect(await rowsByKey(req.idempotencyKey)).toHaveLength(0);
  });

  test("a claim left by a killed process is taken over once its lease ran out", async () => {
    const client = createClient(
      PaymentService,
      createConnectTransport({ baseUrl: shortLease!.http, httpVersion: "1.1" }),
    );
    const req = charge({ cardToken: "tok_slow" });
    const lost = client.processPayment(req).catch((e) => e);
    await waitFor(async () => (await rowsByKey(req.idempotencyKey))[0]?.state === "pending", {
      what: "the pending claim",
    });
    await shortLease!.stop("SIGKILL");
    shortLease = undefined;
    expect(await lost).toBeInstanceOf(Error);
    expect((await rowsByKey(req.idempotencyKey)).map((r) => r.state)).toEqual(["pending"]);
    const { payment } = await onA.processPayment({ ...req, cardToken: "tok_success" });
    expect(payment?.status).toBe(PaymentStatus.CAPTURED);
    expect((await rowsByKey(req.idempotencyKey)).map((r) => [r.id, r.state])).toEqual([[payment!.id, "captured"]]);
  });
});

describe("refunds", () => {
  test("captured → refunded with refunded_at stored; refunding again answers the same", async () => {
    const { payment } = await onA.processPayment(charge());
    const { payment: refunded } = await onB.refundPayment({ paymentId: payment!.id, reason: "customer cancelled" });
    expect(refunded).toMatchObject({ id: payment!.id, status: PaymentStatus.REFUNDED });
    const [row] = await dbs.sql`select * from ${table} where id = ${payment!.id}`;
    expect(row).toMatchObject({ state: "refunded", refund_reason: "customer cancelled" });
    expect(row.refunded_at).toBeInstanceOf(Date);
    const again = await onA.refundPayment({ paymentId: payment!.id });
    expect(again.payment).toEqual(refunded);
    expect((await onA.getPaymentStatus({ paymentId: payment!.id })).payment?.status).toBe(PaymentStatus.REFUNDED);
    const [still] = await dbs.sql`select * from ${table} where id = ${payment!.id}`;
    expect(still.refunded_at).toEqual(row.refunded_at);
  });

  test("a declined payment cannot be refunded; an unknown one is NotFound", async () => {
    const { payment } = await onA.processPayment(charge({ cardToken: "tok_declined" }));
    const declined = await failure(onA.refundPayment({ paymentId: payment!.id }));
    expect(declined.code).toBe(Code.FailedPrecondition);
    expect(declined.rawMessage).toContain("declined");
    expect((await rowsByKey(payment!.idempotencyKey)).map((r) => r.state)).toEqual(["declined"]);
    for (const paymentId of [crypto.randomUUID(), "pay_missing"]) {
      expect((await failure(onA.refundPayment({ paymentId }))).code).toBe(Code.NotFound);
      expect((await failure(onA.getPaymentStatus({ paymentId }))).code).toBe(Code.NotFound);
    }
  });
});

describe("bad input", () => {
  test("InvalidArgument naming the field, and nothing written", async () => {
    const orderIds: string[] = [];
    const cases: [ReturnType<typeof charge>, string][] = [
      [{ ...charge(), amount: { amountMinor: -1n, currency: "EUR" } }, "amount.amount_minor"],
      [{ ...charge(), amount: { amountMinor: 0n, currency: "EUR" } }, "amount.amount_minor"],
      [{ ...charge(), amount: { amountMinor: 100n, currency: "XXX" } }, "amount.currency"],
      [{ ...charge(), cardToken: "" }, "card_token"],
      [{ ...charge(), idempotencyKey: "" }, "idempotency_key"],
      [{ ...charge(), idempotencyKey: "has spaces" }, "idempotency_key"],
      [{ ...charge(), orderId: "" }, "order_id"],
      [{ ...charge(), orderId: "x".repeat(65) }, "order_id"],
    ];
    for (const [req, field] of cases) {
      orderIds.push(req.orderId);
      const err = await failure(onA.processPayment(req));
      expect(err.code).toBe(Code.InvalidArgument);
      expect(err.rawMessage).toContain(field);
    }
    const noAmount = await failure(onA.processPayment({ ...charge(), amount: undefined }));
    expect(noAmount.rawMessage).toContain("amount is required");
    expect(await dbs.sql`select 1 from ${table} where order_id in ${dbs.sql(orderIds)}`).toHaveLength(0);

    const { payment } = await onA.processPayment(charge());
    const longReason = await failure(onA.refundPayment({ paymentId: payment!.id, reason: "x".repeat(501) }));
    expect(longReason.code).toBe(Code.InvalidArgument);
    expect(longReason.rawMessage).toContain("reason");
    expect((await failure(onA.refundPayment({ paymentId: "" }))).rawMessage).toContain("payment_id");
    expect((await rowsByKey(payment!.idempotencyKey)).map((r) => r.state)).toEqual(["captured"]);
  });
});
