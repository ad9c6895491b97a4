// Places and confirms an order with the generated Connect client, straight to the order service.
//   bun examples/place-order.ts <customer-id> [card-token]      (ORDER_URL, default http://localhost:8081)
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { OrderService, OrderStatus } from "../services/contracts/gen/shop/order/v1/order_service_pb";

const [customerId, cardToken = "tok_success"] = process.argv.slice(2);
if (!customerId) {
  console.error("usage: bun examples/place-order.ts <customer-id> [card-token]");
  process.exit(2);
}
const orders = createClient(
  OrderService,
  createConnectTransport({ baseUrl: process.env.ORDER_URL ?? "http://localhost:8081", httpVersion: "1.1" }),
);

const { order } = await orders.createOrder({
  customerId,
  currency: "EUR",
  items: [
    { productId: "sku-mug", quantity: 2 },
    { productId: "sku-tee", quantity: 1 },
  ],
});
console.log(
  `placed ${order!.id}: ${OrderStatus[order!.status]}, total ${order!.total!.amountMinor} ${order!.total!.currency}`,
);
const confirmed = (await orders.confirmOrder({ orderId: order!.id, cardToken })).order!;
console.log(
  `confirmed with ${cardToken}: ${OrderStatus[confirmed.status]}${confirmed.statusReason ? ` (${confirmed.statusReason})` : ""}`,
);
const fetched = (await orders.getOrder({ orderId: order!.id })).order!;
console.log(`fetched: ${OrderStatus[fetched.status]}, payment ${fetched.paymentId || "none"}`);
