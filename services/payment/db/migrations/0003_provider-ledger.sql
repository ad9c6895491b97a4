CREATE TABLE "provider_charges" (
	"idempotency_key" text PRIMARY KEY NOT NULL,
	"outcome" text NOT NULL,
	"decline_reason" text DEFAULT '' NOT NULL,
	"amount_minor" bigint NOT NULL,
	"currency" text NOT NULL,
	"charged_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "provider_charges_outcome_known" CHECK ("provider_charges"."outcome" in ('captured', 'declined'))
);
--> statement-breakpoint
-- The provider's book starts with what payments settled before it was kept.
INSERT INTO "provider_charges" ("idempotency_key", "outcome", "decline_reason", "amount_minor", "currency", "charged_at")
SELECT "idempotency_key", CASE WHEN "state" = 'declined' THEN 'declined' ELSE 'captured' END, "decline_reason", "amount_minor", "currency", "created_at"
FROM "payments" WHERE "state" IN ('captured', 'declined', 'refunded');
