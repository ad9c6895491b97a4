// A charge happens at most once per idempotency key whatever fails around it, on the real store (Postgres
// and PGlite) and the simulated provider's own book: a claim abandoned by a process that died after the
// provider captured is settled from the provider's record, not charged again; a settle that fails is
// retried until it is recorded; a last attempt that the provider keeps failing is declined for good.
import { describe, expect, test } from "bun:test";
import { eq, sql } from "drizzle-orm";
import { join } from "node:path";
import pino from "pino";
import { serviceDatabasesOfFile } from "../../kit/testing";
import { processPayment, type ProcessPaymentDeps } from "../domain/process-payment";
import { simulatedProvider, type CardProvider } from "../domain/provider";
import { DrizzlePaymentStore } from "./drizzle-payment-store";
import { providerLedger } from "./provider-ledger";
import * as schema from "./schema";

const dbs = serviceDatabasesOfFile("payment", schema, join(import.meta.dir, "migrations"), ["postgres", "pglite"]);

const never = () => new AbortController().signal;

describe.each(["postgres", "pglite"] as const)("charging once per key on %s", (driver) => {
  const db = () => dbs.on[driver]!.db;
  /** The provider, counting the charges that reach it. */
  function world(overrides: Partial<ProcessPaymentDeps> = {}) {
    const inner = simulatedProvider({ ledger: providerLedger(db()) });
    const calls = { charge: 0, lookup: 0 };
    const provider: CardProvider = {
      charge: (c, s) => (calls.charge++, inner.charge(c, s)),
      lookup: (k) => (calls.lookup++, inner.lookup(k)),
    };
    const deps: ProcessPaymentDeps = {
      store: new DrizzlePaymentStore(db()),
      provider,
      providerTimeoutMs: 2000,
      claimLeaseMs: 5000,
      pendingWaitMs: 2000,
      log: pino({ level: "silent" }),
      ...overrides,
    };
    return { deps, calls };
  }
  const request = (cardToken = "tok_success") => {
    const orderId = crypto.randomUUID();
    return { orderId, amountMinor: 1999n, currency: "EUR", cardToken, idempotencyKey: `order-${orderId}` };
  };
  const rowsOf = (orderId: string) => db().select().from(schema.payments).where(eq(schema.payments.orderId, orderId));
  const events = async (entityId: string) =>
    (await db().select().from(schema.outbox).where(eq(schema.outbox.entityId, entityId))).map((r) => r.type);
  /** What a process that died after its provider call leaves: a pending claim whose lease ran out. */
  const abandonedClaim = async (req: ReturnType<typeof request>) => {
    const id = crypto.randomUUID();
    await db()
      .insert(schema.payments)
      .values({
        id,
        orderId: req.orderId,
        amountMinor: req.amountMinor,
        currency: req.currency,
        state: "pending",
        idempotencyKey: req.idempotencyKey,
        claimExpiresAt: sql`now() - interval '1 second'`,
      });
    return id;
  };

  test("the provider captured, the process died before settling: the next call settles the claim from the provider's record, no second charge", async () => {
    const { deps, calls } = world();
    const req = request();
    const id = await abandonedClaim(req);
    await providerLedger(db()).record(
      {
        cardToken: req.cardToken,
        idempotencyKey: req.idempotencyKey,
        amountMinor: req.amountMinor,
        currency: req.currency,
      },
      { kind: "captured", delayMs: 0 },
    );
    const payment = await processPayment(deps, req, never());
    expect(payment).toMatchObject({ id, state: "captured", idempotencyKey: req.idempotencyKey });
    expect(calls).toEqual({ charge: 0, lookup: 1 });
    expect((await rowsOf(req.orderId)).map((r) => r.state)).toEqual(["captured"]);
    expect(await events(id)).toEqual(["shop.payment.v1.PaymentProcessed"]);
  });

  test("a claim abandoned before the provider did anything is cleared and the key charged once", async () => {
    const { deps, calls } = world();
    const req = request();
    const stale = await abandonedClaim(req);
    const payment = await processPayment(deps, req, never());
    expect(payment.state).toBe("captured");
    expect(payment.id).not.toBe(stale);
    expect(calls).toEqual({ charge: 1, lookup: 1 });
    expect((await rowsOf(req.orderId)).map((r) => r.state)).toEqual(["captured"]);
  });

  test("the settle fails (the database away for a moment): retried until it is recorded, with its event", async () => {
    const { deps, calls } = world();
    const store = deps.store;
    let failures = 2;
    deps.store = Object.assign(Object.create(Object.getPrototypeOf(store)), store, {
      settle: (...args: Parameters<typeof store.settle>) =>
        failures-- > 0
          ? Promise.reject(Object.assign(new Error("write CONNECTION_CLOSED"), { code: "CONNECTION_CLOSED" }))
          : store.settle(...args),
    });
    const req = request();
    const payment = await processPayment(deps, req, never());
    expect(payment.state).toBe("captured");
    expect(failures).toBe(-1);
    expect(calls.charge).toBe(1);
    expect(await events(payment.id)).toEqual(["shop.payment.v1.PaymentProcessed"]);
  });

  test("a last attempt with the provider still failing declines the key for good: a later call with a good card answers the decline", async () => {
    const { deps, calls } = world();
    const req = request("tok_transient");
    const declined = await processPayment(deps, req, never(), { giveUp: "provider unavailable after 3 attempts" });
    expect(declined).toMatchObject({
      state: "declined",
      declineReason: "provider unavailable after 3 attempts: provider temporarily unavailable",
    });
    const again = await processPayment(deps, { ...req, cardToken: "tok_success" }, never());
    expect(again).toMatchObject({ id: declined.id, state: "declined" });
    expect(calls.charge).toBe(1);
  });

  test("a repeated key reaching the provider (its claim lost) gets the first capture back, never a second one", async () => {
    const { deps } = world();
    const req = request();
    const first = await deps.provider.charge(
      {
        cardToken: req.cardToken,
        idempotencyKey: req.idempotencyKey,
        amountMinor: req.amountMinor,
        currency: req.currency,
      },
      never(),
    );
    const second = await deps.provider.charge(
      {
        cardToken: "tok_declined",
        idempotencyKey: req.idempotencyKey,
        amountMinor: req.amountMinor,
        currency: req.currency,
      },
      never(),
    );
    expect([first.kind, second.kind]).toEqual(["captured", "captured"]);
    const ledger = await db()
      .select()
      .from(schema.providerCharges)
      .where(eq(schema.providerCharges.idempotencyKey, req.idempotencyKey));
    expect(ledger.length).toBe(1);
  });
});
