// (d) The peer: a Moleculer service over the same NATS (its own namespace), request/response.
import { ServiceBroker } from "moleculer";
import { paymentStatusPlain } from "./echo-work";

const broker = new ServiceBroker({
  namespace: process.env.BENCH_NAMESPACE ?? "bench",
  nodeID: `payment-${process.pid}`,
  transporter: { type: "NATS", options: { url: process.env.NATS_URL ?? "nats://127.0.0.1:4222" } },
  logger: false,
});
broker.createService({
  name: "payment",
  actions: { getPaymentStatus: (ctx: { params: { paymentId: string } }) => paymentStatusPlain(ctx.params.paymentId) },
});
await broker.start();
console.log(JSON.stringify({ ready: true, nodeID: broker.nodeID }));
process.once("SIGTERM", () => broker.stop().then(() => process.exit(0)));
