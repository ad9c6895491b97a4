import { sql } from "drizzle-orm";
import { bigint, check, pgTable, text, timestamp, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { inboxTable } from "../../kit/events/inbox-table";
import { outboxTable } from "../../kit/events/outbox-table";
import { PAYMENT_STATES } from "../domain/payments";

/**
 * One row per idempotency key. A row is first a 'pending' claim (written before the provider is
 * called, so a racing call with the same key finds it), then settled to 'captured' or 'declined';
 * a transient provider failure or a caller that gave up deletes the claim instead.
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
    uniqueIndex("payments_one_live_per_order").on(t.orderId).where(sql`${t.state} in ('pending', 'captured')`),
    check("payments_amount_positive", sql`${t.amountMinor} > 0`),
    check("payments_state_known", sql`${t.state} in ('pending', 'captured', 'declined', 'refunded')`),
    check("payments_pending_has_expiry", sql`(${t.state} = 'pending') = (${t.claimExpiresAt} is not null)`),
    check("payments_refunded_has_time", sql`(${t.state} = 'refunded') = (${t.refundedAt} is not null)`),
  ],
);

/** PaymentProcessed / PaymentFailed / PaymentRefunded, written when a payment settles or is refunded; the kit's relay publishes them. */
export const outbox = outboxTable();

/** Events this service has handled (its consumers' idempotency), written with their effects. */
export const inbox = inboxTable();
