import { defineConfig } from "drizzle-kit";

// After a change to schema.ts: bunx drizzle-kit generate --config services/notification/db/drizzle.config.ts
export default defineConfig({
  dialect: "postgresql",
  schema: "./services/notification/db/schema.ts",
  out: "./services/notification/db/migrations",
});
