// Places and confirms an order with the generated Connect client, straight to the order service.
//   bun examples/place-order.ts <customer-id> [card-token]      (ORDER_URL, default http://localhost:8081)
// The customer id is a customer's UUID: the one `bun run seed` prints, or `id` from
// `curl -H "Authorization: Bearer $TOKEN" localhost:8080/v1/customers/me` (examples/walk-through.sh does that).
// The order service's own port wants a service or operator token: ORDER_TOKEN when set, else one signed
// with the operator's key that `bun run dev` keeps in .data/identities (as `bun run cli token` does).
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { OrderService, OrderStatus } from "../services/contracts/gen/shop/order/v1/order_service_pb";
import { isUuid } from "../services/kit";
import { signToken } from "../services/kit/trust";
import { operatorIdentity } from "../cli/operator-nats";

const USAGE = "usage: bun examples/place-order.ts <customer-id> [card-token]   (ORDER_URL, ORDER_TOKEN)";
const [customerId, cardToken = "tok_success"] = process.argv.slice(2);
if (!customerId) {
  console.error(`${USAGE}\n  the customer id: bun run seed prints the demo customers' ids; or GET /v1/customers/me`);
  process.exit(2);
}
if (!isUuid(customerId)) {
  console.error(`place-order: "${customerId}" is not a customer id (a UUID, e.g. from bun run seed)\n${USAGE}`);
  process.exit(2);
}

const operator = operatorIdentity();
const token = process.env.ORDER_TOKEN || (operator ? signToken(operator, "order", { ttlSeconds: 300 }) : undefined);
const orders = createClient(
  OrderService,
  createConnectTransport({
    baseUrl: process.env.ORDER_URL ?? "http://localhost:8081",
    httpVersion: "1.1",
    interceptors: token ? [(next) => (req) => (req.header.set("authorization", `Bearer ${token}`), next(req))] : [],
  }),
);

try {
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
} catch (e) {
  // One line, as a client would show it: the status and the service's message, no stack.
  const err = ConnectError.from(e);
  const hint =
    err.code === Code.NotFound
      ? " (is the customer id one of this platform's? bun run seed prints them)"
      : err.code === Code.Unauthenticated
        ? " (the order service's port wants a token: ORDER_TOKEN, or run where bun run dev keeps .data/identities)"
        : err.code === Code.Unavailable
          ? ` (is the order service at ${process.env.ORDER_URL ?? "http://localhost:8081"}? bun run dev)`
          : "";
  console.error(`place-order: ${Code[err.code]}: ${err.rawMessage}${hint}`);
  process.exit(1);
}
