import { runService } from "../kit/service";
import { MemoryPaymentStore } from "./domain/memory-payment-store";
import { paymentRoutes } from "./rpc/payment-service";
import { version } from "../../package.json";

await runService({
  name: "payment",
  version,
  description: "Charges and refunds through a simulated card provider",
  ports: { http: 8082, grpc: 9082 },
  build: () => ({ rpc: paymentRoutes(new MemoryPaymentStore()) }),
});
