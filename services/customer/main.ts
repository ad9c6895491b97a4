import { version } from "../../package.json";
import { runService } from "../kit/service";
import { MemoryCustomerStore } from "./domain/customer-store";
import { customerRoutes } from "./http/customer-routes";

await runService({
  name: "customer",
  version,
  description: "Customers over plain REST",
  ports: { http: 8084 },
  build: () => ({ rest: customerRoutes(new MemoryCustomerStore()) }),
});
