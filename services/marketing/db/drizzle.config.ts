import { defineConfig } from "drizzle-kit";

// After a change to schema.ts: bunx drizzle-kit generate --config services/marketing/db/drizzle.config.ts
export default defineConfig({
  dialect: "postgresql",
  schema: "./services/marketing/db/schema.ts",
  out: "./services/marketing/db/migrations",
});
