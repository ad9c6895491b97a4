CREATE TABLE "products" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"price_minor" bigint NOT NULL,
	"currency" text NOT NULL,
	"stock" integer NOT NULL,
	"reserved" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "products_stock_not_negative" CHECK ("products"."stock" >= 0),
	CONSTRAINT "products_reserved_not_negative" CHECK ("products"."reserved" >= 0),
	CONSTRAINT "products_reserved_within_stock" CHECK ("products"."reserved" <= "products"."stock")
);
--> statement-breakpoint
CREATE TABLE "reservation_items" (
	"reservation_id" uuid NOT NULL,
	"product_id" text NOT NULL,
	"quantity" integer NOT NULL,
	CONSTRAINT "reservation_items_reservation_id_product_id_pk" PRIMARY KEY("reservation_id","product_id"),
	CONSTRAINT "reservation_items_quantity_positive" CHECK ("reservation_items"."quantity" > 0)
);
--> statement-breakpoint
CREATE TABLE "reservations" (
	"id" uuid PRIMARY KEY NOT NULL,
	"order_id" text NOT NULL,
	"status" text NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"release_reason" text DEFAULT '' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "reservations_status_known" CHECK ("reservations"."status" in ('active', 'committed', 'released', 'expired'))
);
--> statement-breakpoint
CREATE INDEX "reservation_items_product_id" ON "reservation_items" USING btree ("product_id");--> statement-breakpoint
CREATE UNIQUE INDEX "reservations_one_live_per_order" ON "reservations" USING btree ("order_id") WHERE "reservations"."status" in ('active', 'committed');--> statement-breakpoint
CREATE INDEX "reservations_active_expiry" ON "reservations" USING btree ("expires_at") WHERE "reservations"."status" = 'active';