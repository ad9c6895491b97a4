import { PAYMENTS } from "./contract/events";
import { runPlatformService } from "../platform/run-platform-service";
import { paymentConfig } from "./config";
import { DrizzlePaymentStore } from "./db/drizzle-payment-store";
import { providerLedger } from "./db/provider-ledger";
import * as schema from "./db/schema";
import { simulatedProvider } from "./domain/provider";
import { withInjectedLatency } from "./injected-latency";
import { countedProvider } from "./provider-metrics";
import { paymentRequestsConsumer } from "./events/payment-requests";
import { paymentRoutes } from "./rpc/payment-service";

await runPlatformService({
  name: "payment",
  description: "Charges and refunds through a simulated card provider",
  ports: { http: 8082, grpc: 9082 },
  database: { schema, outbox: [PAYMENTS] },
  build: ({ env, db, metrics, log }) => {
    const cfg = paymentConfig(env);
    const deps = {
      store: new DrizzlePaymentStore(db),
      provider: countedProvider(
        withInjectedLatency(simulatedProvider({ ledger: providerLedger(db) }), cfg.PAYMENT_INJECT_LATENCY_MS, log),
        metrics.registry,
      ),
      providerTimeoutMs: cfg.PAYMENT_PROVIDER_TIMEOUT_MS,
      claimLeaseMs: cfg.PAYMENT_CLAIM_LEASE_MS,
      pendingWaitMs: cfg.PAYMENT_PENDING_WAIT_MS,
      log,
    };
    return {
      rpc: paymentRoutes(deps, log),
      consumers: [paymentRequestsConsumer(deps, { attempts: cfg.PAYMENT_ASYNC_ATTEMPTS })],
    };
  },
});
