CREATE TABLE "inbox" (
	"consumer" text NOT NULL,
	"event_id" text NOT NULL,
	"event_type" text NOT NULL,
	"handled_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "inbox_consumer_event_id_pk" PRIMARY KEY("consumer","event_id")
);
--> statement-breakpoint
CREATE TABLE "profiles" (
	"customer_id" uuid PRIMARY KEY NOT NULL,
	"registered_at" timestamp with time zone,
	"orders_placed" integer DEFAULT 0 NOT NULL,
	"orders_confirmed" integer DEFAULT 0 NOT NULL,
	"orders_cancelled" integer DEFAULT 0 NOT NULL,
	"payment_failures" integer DEFAULT 0 NOT NULL,
	"last_activity" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "profile_spend" (
	"customer_id" uuid NOT NULL,
	"currency" text NOT NULL,
	"amount_minor" bigint NOT NULL,
	CONSTRAINT "profile_spend_customer_id_currency_pk" PRIMARY KEY("customer_id","currency")
);
