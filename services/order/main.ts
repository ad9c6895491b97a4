import { version } from "../../package.json";
import { InventoryService } from "../contracts/gen/shop/inventory/v1/inventory_service_pb";
import { PaymentService } from "../contracts/gen/shop/payment/v1/payment_service_pb";
import { integer, readConfig } from "../kit/config";
import { runService } from "../kit/service";
import { customerDirectory } from "./clients/customer-directory";
import { OrderStore } from "./db/order-store";
import { paymentOutcomesConsumer } from "./events/payment-outcomes";
import * as schema from "./db/schema";
import { orderRoutes } from "./rpc/order-service";

await runService({
  name: "order",
  version,
  description: "Orders and the order saga",
  ports: { http: 8081, grpc: 9081 },
  database: { schema, migrations: `${import.meta.dir}/db/migrations` },
  outbox: true,
  build: ({ env, log, clients, db }) => {
    const cfg = readConfig({ ORDER_LEASE_MS: integer(30_000, { min: 1000 }), RESERVATION_TTL_SECONDS: integer(900, { min: 1, max: 3600 }) }, env);
    const saga = {
      store: new OrderStore(db),
      inventory: clients.connect(InventoryService),
      payment: clients.connect(PaymentService),
      customerExists: customerDirectory(clients.rest("customer")),
      log,
      leaseMs: cfg.ORDER_LEASE_MS,
      reservationTtlSeconds: cfg.RESERVATION_TTL_SECONDS,
    };
    return { rpc: orderRoutes(saga), consumers: [paymentOutcomesConsumer(saga)] };
  },
});
