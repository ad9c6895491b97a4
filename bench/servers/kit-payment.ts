// (a) The platform: a service started through the kit (runService: Hono, interceptors, NATS
// registration) registered as "payment" in the bench's own namespace, answering GetPaymentStatus.
import { runService } from "../../services/kit";
import { PaymentService } from "../../services/contracts/gen/shop/payment/v1/payment_service_pb";
import { paymentStatus } from "./echo-work";

await runService({
  name: "payment",
  version: "0.0.0-bench",
  description: "Bench echo of GetPaymentStatus",
  ports: { http: 0 },
  build: () => ({
    rpc: (router) => router.service(PaymentService, { getPaymentStatus: (req) => paymentStatus(req.paymentId) }),
  }),
});
