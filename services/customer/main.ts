import { CUSTOMERS } from "./contract/events";
import { runPlatformService } from "../platform/run-platform-service";
import { DrizzleCustomerStore } from "./db/drizzle-customer-store";
import * as schema from "./db/schema";
import { customerRoutes } from "./http/customer-routes";

await runPlatformService({
  name: "customer",
  description: "Customers over plain REST",
  ports: { http: 8084 },
  database: { schema, outbox: [CUSTOMERS] },
  build: ({ db }) => ({ rest: customerRoutes(new DrizzleCustomerStore(db)) }),
});
