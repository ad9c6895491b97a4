import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { OrderService } from "../../contracts/gen/shop/order/v1/order_service_pb";
import type { OrderStore } from "../domain/orders";
import { isUuid } from "../../kit/ids";

const MAX_PAGE = 100;

function requireUuid(field: string, value: string) {
  if (!value) throw new ConnectError(`${field} is required`, Code.InvalidArgument);
  if (!isUuid(value)) throw new ConnectError(`${field} must be a UUID`, Code.InvalidArgument);
}

/**
 * OrderService reads. CreateOrder, ConfirmOrder and CancelOrder run the saga across payment,
 * inventory and customer, which arrives with the order flow; until then they answer Unimplemented.
 */
export function orderRoutes(store: OrderStore) {
  return (router: ConnectRouter) =>
    router.service(OrderService, {
      async getOrder(req) {
        requireUuid("order_id", req.orderId);
        const order = await store.get(req.orderId);
        if (!order) throw new ConnectError(`order ${req.orderId} not found`, Code.NotFound);
        return { order };
      },
      async listOrders(req) {
        requireUuid("customer_id", req.customerId);
        if (req.pageSize < 0) throw new ConnectError("page_size must not be negative", Code.InvalidArgument);
        if (req.pageToken) requireUuid("page_token", req.pageToken);
        const limit = Math.min(req.pageSize || 20, MAX_PAGE);
        const page = await store.listByCustomer(req.customerId, req.pageToken, limit + 1);
        return { orders: page.slice(0, limit), nextPageToken: page.length > limit ? page[limit - 1].id : "" };
      },
    });
}
