import { sql } from "drizzle-orm";
import { bigint, check, pgTable, text, timestamp, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { inboxTable, outboxTable } from "../../kit/events";
import { PAYMENT_STATES } from "../domain/payments";

/**
 * One row per idempotency key. A row is first a 'pending' claim (written before the provider is
 * called, so a racing call with the same key finds it), then settled to 'captured' or 'declined';
 * a transient provider failure or a caller that gave up deletes the claim instead. A claim whose holder
 * died is settled by whoever finds it abandoned, from what the provider says it did with the key.
 */
export const payments = pgTable(
  "payments",
  {
    id: uuid("id").primaryKey(),
    orderId: text("order_id").notNull(),
    amountMinor: bigint("amount_minor", { mode: "bigint" }).notNull(),
    currency: text("currency").notNull(),
    state: text("state", { enum: PAYMENT_STATES }).notNull(),
    declineReason: text("decline_reason").notNull().default(""),
    idempotencyKey: text("idempotency_key").notNull().unique(),
    /** While pending: when the claim counts as abandoned (its process died) and may be taken over. */
    claimExpiresAt: timestamp("claim_expires_at", { withTimezone: true }),
    refundReason: text("refund_reason").notNull().default(""),
    refundedAt: timestamp("refunded_at", { withTimezone: true }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    // No double charge: an order has at most one payment that is being charged or is captured. The
    // pending claim is in the index too, so two keys for one order can never both reach the provider.
    uniqueIndex("payments_one_live_per_order")
      .on(t.orderId)
      .where(sql`${t.state} in ('pending', 'captured')`),
    check("payments_amount_positive", sql`${t.amountMinor} > 0`),
    check("payments_state_known", sql`${t.state} in ('pending', 'captured', 'declined', 'refunded')`),
    check("payments_pending_has_expiry", sql`(${t.state} = 'pending') = (${t.claimExpiresAt} is not null)`),
    check("payments_refunded_has_time", sql`(${t.state} = 'refunded') = (${t.refundedAt} is not null)`),
  ],
);

/**
 * The simulated card provider's own book, not the payment service's: what it captured or declined, by
 * the idempotency key it was given. A real provider keeps this on its side and answers a repeated key
 * with the first outcome; here it lives in the payment database, written in transactions of its own
 * (before the provider answers), so it outlives a payment process that dies mid-charge as a provider's
 * would. `bun run invariants` compares it with the payments: every capture here is one captured payment.
 */
export const providerCharges = pgTable(
  "provider_charges",
  {
    idempotencyKey: text("idempotency_key").primaryKey(),
    outcome: text("outcome", { enum: ["captured", "declined"] }).notNull(),
    declineReason: text("decline_reason").notNull().default(""),
    amountMinor: bigint("amount_minor", { mode: "bigint" }).notNull(),
    currency: text("currency").notNull(),
    chargedAt: timestamp("charged_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [check("provider_charges_outcome_known", sql`${t.outcome} in ('captured', 'declined')`)],
);

/** PaymentProcessed / PaymentFailed / PaymentRefunded, written when a payment settles or is refunded; the kit's relay publishes them. */
export const outbox = outboxTable();

/** Events this service has handled (its consumers' idempotency), written with their effects. */
export const inbox = inboxTable();
