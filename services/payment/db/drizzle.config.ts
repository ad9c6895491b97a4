import { defineConfig } from "drizzle-kit";

// After a change to schema.ts: bunx drizzle-kit generate --config services/payment/db/drizzle.config.ts
export default defineConfig({
  dialect: "postgresql",
  schema: "./services/payment/db/schema.ts",
  out: "./services/payment/db/migrations",
});
