CREATE TABLE "payments" (
	"id" uuid PRIMARY KEY NOT NULL,
	"order_id" text NOT NULL,
	"amount_minor" bigint NOT NULL,
	"currency" text NOT NULL,
	"state" text NOT NULL,
	"decline_reason" text DEFAULT '' NOT NULL,
	"idempotency_key" text NOT NULL,
	"claim_expires_at" timestamp with time zone,
	"refund_reason" text DEFAULT '' NOT NULL,
	"refunded_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "payments_idempotency_key_unique" UNIQUE("idempotency_key"),
	CONSTRAINT "payments_amount_positive" CHECK ("payments"."amount_minor" > 0),
	CONSTRAINT "payments_state_known" CHECK ("payments"."state" in ('pending', 'captured', 'declined', 'refunded')),
	CONSTRAINT "payments_pending_has_expiry" CHECK (("payments"."state" = 'pending') = ("payments"."claim_expires_at" is not null)),
	CONSTRAINT "payments_refunded_has_time" CHECK (("payments"."state" = 'refunded') = ("payments"."refunded_at" is not null))
);
--> statement-breakpoint
CREATE UNIQUE INDEX "payments_one_live_per_order" ON "payments" USING btree ("order_id") WHERE "payments"."state" in ('pending', 'captured');