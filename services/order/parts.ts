import { Counter, Histogram, type Registry } from "prom-client";
import { InventoryService } from "../contracts/gen/shop/inventory/v1/inventory_service_pb";
import { PaymentService } from "../contracts/gen/shop/payment/v1/payment_service_pb";
import { integer, readConfig, type Env, type Logger, type ServiceParts } from "../kit";
import type { Database } from "../kit/db";
import type { ServiceClients } from "../kit/rpc";
import type { SagaDeps } from "./app/drive-saga";
import type { Customers, Inventory, Payments } from "./app/ports";
import { startOrderRecovery } from "./app/recover-orders";
import { customersPort } from "./clients/customers";
import { inventoryPort } from "./clients/inventory";
import { paymentsPort } from "./clients/payments";
import { DrizzleOrderRepository } from "./db/order-repository";
import type * as schema from "./db/schema";
import { paymentOutcomesConsumer } from "./events/payment-outcomes";
import { orderRoutes } from "./rpc/order-service";

/** The order service's own settings (the kit reads ports, NATS, database). */
export function orderConfig(env: Env) {
  return readConfig(
    {
      ORDER_LEASE_MS: integer(30_000, { min: 1000, max: 600_000 }),
      RESERVATION_TTL_SECONDS: integer(900, { min: 1, max: 3600 }),
      // Longer than payment's PAYMENT_PROVIDER_TIMEOUT_MS (10 s): the provider's slowest answer, then recording it.
      ORDER_PAYMENT_TIMEOUT_MS: integer(12_000, { min: 100, max: 600_000 }),
      ORDER_STEP_TIMEOUT_MS: integer(5_000, { min: 100, max: 600_000 }),
      ORDER_RECOVERY_EVERY_MS: integer(1_000, { min: 50, max: 600_000 }),
      ORDER_PAYMENT_PENDING_RECOVERY_MS: integer(30_000, { min: 0, max: 3_600_000 }),
      ORDER_RECOVERY_MAX_BACKOFF_MS: integer(10_000, { min: 100, max: 3_600_000 }),
    },
    env,
  );
}

/** The services the order service calls, as its ports: found through NATS and policy-wrapped (ctx.clients). */
export function remotePorts(clients: ServiceClients, env: Env): RemotePorts {
  // A charge waits for the card provider: one attempt may take as long as the charge step may.
  const charge = orderConfig(env).ORDER_PAYMENT_TIMEOUT_MS;
  return {
    inventory: inventoryPort(clients.connect(InventoryService)),
    payments: paymentsPort(clients.connect(PaymentService, { attemptTimeoutMs: { processPayment: charge } })),
    customers: customersPort(clients.rest("customer")),
  };
}

export interface RemotePorts {
  inventory: Inventory;
  payments: Payments;
  customers: Customers;
}

/**
 * The order service's parts over its database and the services it calls: the RPC handlers, the payment
 * outcome consumer and the recovery worker. main.ts hands them to the kit; the order-flow bench builds
 * them in one process over in-memory transports.
 */
export function orderParts({
  env,
  db,
  remote,
  log,
  registry,
}: {
  env: Env;
  db: Database<typeof schema>;
  remote: RemotePorts;
  log: Logger;
  registry: Registry;
}): ServiceParts {
  const cfg = orderConfig(env);
  const deps: SagaDeps = {
    orders: new DrizzleOrderRepository(db),
    inventory: remote.inventory,
    payments: remote.payments,
    log,
    leaseMs: cfg.ORDER_LEASE_MS,
    reservationTtlSeconds: cfg.RESERVATION_TTL_SECONDS,
    chargeTimeoutMs: cfg.ORDER_PAYMENT_TIMEOUT_MS,
    stepTimeoutMs: cfg.ORDER_STEP_TIMEOUT_MS,
    paymentPendingRecoveryMs: cfg.ORDER_PAYMENT_PENDING_RECOVERY_MS,
    maxRetryDelayMs: cfg.ORDER_RECOVERY_MAX_BACKOFF_MS,
  };
  const recovered = new Counter({
    name: "order_saga_recovered_total",
    help: "Orders the recovery worker took up after their saga stopped half-way, by the state found and the state left in",
    labelNames: ["from", "to"],
    registers: [registry],
  });
  const stuck = new Histogram({
    name: "order_saga_stuck_seconds",
    help: "How long an order the recovery worker took up had been left in its state",
    buckets: [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900],
    registers: [registry],
  });
  const recovery = startOrderRecovery(deps, {
    everyMs: cfg.ORDER_RECOVERY_EVERY_MS,
    onRecovered: (r) => {
      recovered.inc({ from: r.from, to: r.to });
      stuck.observe(r.stuckMs / 1000);
      log.info({ orderId: r.orderId, from: r.from, to: r.to, end: r.end, stuckMs: r.stuckMs }, "order saga recovered");
    },
  });
  return {
    rpc: orderRoutes({ ...deps, customers: remote.customers }),
    consumers: [paymentOutcomesConsumer(deps)],
    stop: () => recovery.stop(),
  };
}
