import { version } from "../../package.json";
import { runService } from "../kit/service";
import { MemoryProductStore } from "./domain/products";
import { inventoryRoutes } from "./rpc/inventory-service";

await runService({
  name: "inventory",
  version,
  description: "Products, stock and reservations",
  ports: { http: 8083, grpc: 9083 },
  build: () => ({ rpc: inventoryRoutes(new MemoryProductStore()) }),
});
