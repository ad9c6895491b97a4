import { version } from "../../package.json";
import { runService } from "../kit/service";
import { MemoryOrderStore } from "./domain/orders";
import { orderRoutes } from "./rpc/order-service";

await runService({
  name: "order",
  version,
  description: "Orders and the order saga",
  ports: { http: 8081, grpc: 9081 },
  build: () => ({ rpc: orderRoutes(new MemoryOrderStore()) }),
});
