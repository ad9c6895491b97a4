// Databases: Postgres (postgres.js + drizzle) or embedded PGlite behind one interface, migrations, and
// work that must wait for the commit.
export { openDatabase } from "./database";
export type { Database, OpenDatabase } from "./open-database";
export { afterCommit } from "./after-commit";
export { fixedQuery, fixedQueryPerShape, arrayParameter } from "./fixed-query";
export { isDatabaseUnavailable } from "./unavailable";
