ALTER TABLE "orders" ADD COLUMN "target" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "orders" ADD COLUMN "card_token" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "orders" ADD COLUMN "refunded" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "orders" ADD COLUMN "recover_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "orders" ADD COLUMN "attempts" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX "orders_recovery_due" ON "orders" USING btree ("recover_at") WHERE "orders"."target" <> '';--> statement-breakpoint
-- Orders a saga left half-way before there was a recovery worker: hand them to it. A reserved order
-- whose charge may have landed is finished with the same payment key, never charged twice.
UPDATE "orders" SET "target" = 'confirmed', "recover_at" = now() WHERE "state" IN ('reserved', 'payment_pending');
