import { defineConfig } from "drizzle-kit";

// After a change to schema.ts: bunx drizzle-kit generate --config services/order/db/drizzle.config.ts
export default defineConfig({
  dialect: "postgresql",
  schema: "./services/order/db/schema.ts",
  out: "./services/order/db/migrations",
});
