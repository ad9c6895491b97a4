// (c) Stock connect-es with no kit: createConnectRouter + createFetchHandler on Bun.serve.
import { createConnectRouter } from "@connectrpc/connect";
import { createFetchHandler } from "@connectrpc/connect/protocol";
import { PaymentService } from "../../services/contracts/gen/shop/payment/v1/payment_service_pb";
import { paymentStatus } from "./echo-work";

const router = createConnectRouter({ grpc: false });
router.service(PaymentService, { getPaymentStatus: (req) => paymentStatus(req.paymentId) });
const byPath = new Map(router.handlers.map((h) => [h.requestPath, createFetchHandler(h)]));
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch(req) {
    const handler = byPath.get(new URL(req.url).pathname);
    return handler ? handler(req) : new Response(null, { status: 404 });
  },
});
console.log(JSON.stringify({ ready: true, url: `http://127.0.0.1:${server.port}` }));
process.once("SIGTERM", () => server.stop(true).then(() => process.exit(0)));
