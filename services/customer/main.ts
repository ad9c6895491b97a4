import { CUSTOMERS } from "./contract/events";
import { join } from "node:path";
import { version } from "../../package.json";
import { runService } from "../kit";
import { DrizzleCustomerStore } from "./db/drizzle-customer-store";
import * as schema from "./db/schema";
import { customerRoutes } from "./http/customer-routes";
import { callersOf } from "../platform/communication";

await runService({
  name: "customer",
  version,
  callers: callersOf("customer"),
  description: "Customers over plain REST",
  ports: { http: 8084 },
  database: { schema, migrations: join(import.meta.dir, "db/migrations") },
  outbox: { streams: [CUSTOMERS] },
  build: ({ db }) => ({ rest: customerRoutes(new DrizzleCustomerStore(db)) }),
});
