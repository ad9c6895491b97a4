import { and, eq, inArray, lt, ne, sql } from "drizzle-orm";
import { type Database, fixedQuery } from "../../kit/db";
import { PaymentFailed, PaymentProcessed, PaymentRefunded } from "../contract/events";
import { writeEvent } from "../../kit/events";
import type { ChargeRequest, PaymentRecord, PaymentStore, Settlement } from "../domain/payments";
import * as schema from "./schema";

const { payments } = schema;
type Row = typeof payments.$inferSelect;

/**
 * The statements of a charge (claim, settle), built by drizzle once and prepared (see fixedQuery):
 * building them per call was most of the service's JS work and short-lived garbage under load.
 */
/** A claim settled: its outcome (placeholders, bound at execute) and no lease any more. */
const settled = {
  // Placeholders as values: drizzle binds them as the columns' parameters (encoded at execute); its types only admit values.
  state: sql.placeholder("state") as unknown as "captured",
  declineReason: sql.placeholder("declineReason") as unknown as string,
  claimExpiresAt: null,
  updatedAt: sql`now()`,
};

/** The claim with this id (a placeholder), while it still is one. */
const heldClaim = and(eq(payments.id, sql.placeholder("id")), eq(payments.state, "pending"));
/** That claim once its lease ran out: its holder is gone. */
const abandonedClaim = and(heldClaim, lt(payments.claimExpiresAt, sql`now()`));

const Q = {
  claim: fixedQuery("payment_claim", (db) =>
    db
      .insert(payments)
      .values({
        id: sql.placeholder("id"),
        orderId: sql.placeholder("orderId"),
        amountMinor: sql.placeholder("amountMinor"),
        currency: sql.placeholder("currency"),
        state: "pending",
        idempotencyKey: sql.placeholder("idempotencyKey"),
        claimExpiresAt: sql`now() + make_interval(secs => ${sql.placeholder("leaseSeconds")})`,
      })
      .onConflictDoNothing()
      .returning({ id: payments.id }),
  ),
  settle: fixedQuery("payment_settle", (db) => db.update(payments).set(settled).where(heldClaim).returning()),
  // An abandoned claim (its lease ran out) is settled only while it still is one: whoever resolves it first.
  settleAbandoned: fixedQuery("payment_settle_abandoned", (db) =>
    db.update(payments).set(settled).where(abandonedClaim).returning(),
  ),
  release: fixedQuery("payment_release_claim", (db) => db.delete(payments).where(heldClaim)),
  releaseAbandoned: fixedQuery("payment_release_abandoned_claim", (db) => db.delete(payments).where(abandonedClaim)),
  byId: fixedQuery("payment_by_id", (db) =>
    db
      .select()
      .from(payments)
      .where(eq(payments.id, sql.placeholder("id"))),
  ),
};

/**
 * Payments in Postgres (or PGlite). Each method is a single statement, so racing calls on any number
 * of replicas are decided by the unique indexes and the state in each statement's condition alone.
 * Times come from the database clock, which every replica shares.
 */
export class DrizzlePaymentStore implements PaymentStore {
  constructor(private readonly db: Database<typeof schema>) {}

  async claim(id: string, req: ChargeRequest, leaseMs: number): Promise<boolean> {
    // No conflict target: a taken key and an order with a live payment both mean "not claimed".
    const inserted = await Q.claim(this.db, {
      id,
      orderId: req.orderId,
      amountMinor: req.amountMinor,
      currency: req.currency,
      idempotencyKey: req.idempotencyKey,
      leaseSeconds: leaseMs / 1000,
    });
    return inserted.length === 1;
  }

  async findByKey(idempotencyKey: string) {
    const [row] = await this.db.select().from(payments).where(eq(payments.idempotencyKey, idempotencyKey));
    return row && toRecord(row);
  }

  async findLive(orderId: string) {
    const [row] = await this.db
      .select()
      .from(payments)
      .where(and(eq(payments.orderId, orderId), inArray(payments.state, ["pending", "captured"])));
    return row && toRecord(row);
  }

  async settle(id: string, settlement: Settlement, { abandoned = false } = {}) {
    return this.db.transaction(async (tx) => {
      const [row] = await (abandoned ? Q.settleAbandoned : Q.settle)(tx, {
        id,
        state: settlement.state,
        declineReason: settlement.state === "declined" ? settlement.reason : "",
      });
      if (row?.state === "captured")
        await writeEvent(
          tx,
          PaymentProcessed,
          { paymentId: row.id, orderId: row.orderId, amount: { amountMinor: row.amountMinor, currency: row.currency } },
          { entityId: row.id },
        );
      if (row?.state === "declined")
        await writeEvent(
          tx,
          PaymentFailed,
          { paymentId: row.id, orderId: row.orderId, reason: row.declineReason },
          { entityId: row.id },
        );
      return row && toRecord(row);
    });
  }

  async release(id: string, { abandoned = false } = {}) {
    await (abandoned ? Q.releaseAbandoned : Q.release)(this.db, { id });
  }

  async byId(id: string) {
    const [row] = await Q.byId(this.db, { id });
    return row && toRecord(row);
  }

  async get(id: string) {
    const [row] = await this.db
      .select()
      .from(payments)
      .where(and(eq(payments.id, id), ne(payments.state, "pending")));
    return row && toRecord(row);
  }

  async refund(id: string, reason: string) {
    return this.db.transaction(async (tx) => {
      const [row] = await tx
        .update(payments)
        .set({ state: "refunded", refundReason: reason, refundedAt: sql`now()`, updatedAt: sql`now()` })
        .where(and(eq(payments.id, id), eq(payments.state, "captured")))
        .returning();
      if (row)
        await writeEvent(
          tx,
          PaymentRefunded,
          { paymentId: row.id, orderId: row.orderId, amount: { amountMinor: row.amountMinor, currency: row.currency } },
          { entityId: row.id },
        );
      return row && toRecord(row);
    });
  }
}

function toRecord(row: Row): PaymentRecord {
  return {
    id: row.id,
    orderId: row.orderId,
    amountMinor: row.amountMinor,
    currency: row.currency,
    state: row.state,
    declineReason: row.declineReason,
    idempotencyKey: row.idempotencyKey,
    claimExpiresAt: row.claimExpiresAt ?? undefined,
    refundReason: row.refundReason,
    refundedAt: row.refundedAt ?? undefined,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}
