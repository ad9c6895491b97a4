import { defineConfig } from "drizzle-kit";

// After a change to schema.ts: bunx drizzle-kit generate --config services/inventory/db/drizzle.config.ts --name <what>
export default defineConfig({
  dialect: "postgresql",
  schema: "./services/inventory/db/schema.ts",
  out: "./services/inventory/db/migrations",
});
