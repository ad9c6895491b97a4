import { INVENTORY } from "./contract/events";
import { join } from "node:path";
import { version } from "../../package.json";
import { runService } from "../kit";
import { inventoryConfig } from "./config";
import { PgInventoryStore } from "./db/inventory-store";
import * as schema from "./db/schema";
import { startReservationExpiry } from "./jobs/expire-reservations";
import { inventoryRoutes } from "./rpc/inventory-service";
import { callersOf } from "../platform/communication";

await runService({
  name: "inventory",
  version,
  callers: callersOf("inventory"),
  description: "Products, stock and reservations",
  ports: { http: 8083, grpc: 9083 },
  database: { schema, migrations: join(import.meta.dir, "db/migrations") },
  outbox: { streams: [INVENTORY] },
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
