import { INVENTORY } from "./contract/events";
import { runPlatformService } from "../platform/run-platform-service";
import { inventoryConfig } from "./config";
import { PgInventoryStore } from "./db/inventory-store";
import * as schema from "./db/schema";
import { startReservationExpiry } from "./jobs/expire-reservations";
import { inventoryRoutes } from "./rpc/inventory-service";

await runPlatformService({
  name: "inventory",
  description: "Products, stock and reservations",
  ports: { http: 8083, grpc: 9083 },
  database: { schema, outbox: [INVENTORY] },
  build: ({ env, db, log }) => {
    const cfg = inventoryConfig(env);
    const store = new PgInventoryStore(db);
    const expiry = startReservationExpiry({ store, everyMs: cfg.RESERVATION_SWEEP_MS, log });
    return {
      rpc: inventoryRoutes(store, { defaultTtlSeconds: cfg.RESERVATION_TTL_SECONDS }),
      stop: () => expiry.stop(),
    };
  },
});
