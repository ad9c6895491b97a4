import { defineConfig } from "drizzle-kit";

// After a change to schema.ts: bunx drizzle-kit generate --config services/customer/db/drizzle.config.ts
export default defineConfig({
  dialect: "postgresql",
  schema: "./services/customer/db/schema.ts",
  out: "./services/customer/db/migrations",
});
