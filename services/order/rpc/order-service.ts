import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { OrderSchema, OrderService, OrderStatus, type Order } from "../../contracts/gen/shop/order/v1/order_service_pb";
import { isUuid } from "../../kit/ids";
import type { StoredOrder } from "../db/order-store";
import type { OrderState } from "../db/schema";
import { cancelOrder } from "../saga/cancel-order";
import { confirmOrder } from "../saga/confirm-order";
import { createOrder } from "../saga/create-order";
import type { SagaDependencies } from "../saga/dependencies";

const MAX_PAGE = 100;
const DEFAULT_PAGE = 20;

const STATUS: Record<OrderState, OrderStatus> = {
  pending: OrderStatus.PENDING,
  reserved: OrderStatus.RESERVED,
  payment_pending: OrderStatus.PAYMENT_PENDING,
  confirmed: OrderStatus.CONFIRMED,
  payment_failed: OrderStatus.PAYMENT_FAILED,
  cancelled: OrderStatus.CANCELLED,
};

export function toProto(o: StoredOrder): Order {
  return create(OrderSchema, {
    id: o.id,
    customerId: o.customerId,
    lines: o.lines.map((l) => ({ productId: l.productId, quantity: l.quantity, unitPrice: { amountMinor: l.unitPriceMinor, currency: o.currency } })),
    total: { amountMinor: o.totalMinor, currency: o.currency },
    status: STATUS[o.state],
    reservationId: o.reservationId,
    paymentId: o.paymentId,
    statusReason: o.stateReason,
    createdAt: timestampFromDate(o.createdAt),
    updatedAt: timestampFromDate(o.updatedAt),
  });
}

function requireUuid(field: string, value: string) {
  if (!value) throw new ConnectError(`${field} is required`, Code.InvalidArgument);
  if (!isUuid(value)) throw new ConnectError(`${field} must be a UUID`, Code.InvalidArgument);
}

/** The keyset cursor of ListOrders: opaque to clients, (created_at, id) inside. */
const pageToken = {
  encode: (o: StoredOrder) => Buffer.from(JSON.stringify([o.createdAt.toISOString(), o.id])).toString("base64url"),
  decode(token: string): { createdAt: Date; id: string } {
    try {
      const [at, id] = JSON.parse(Buffer.from(token, "base64url").toString());
      const createdAt = new Date(at);
      if (isUuid(id) && !Number.isNaN(createdAt.getTime())) return { createdAt, id };
    } catch {}
    throw new ConnectError("page_token is not a token this service gave out", Code.InvalidArgument);
  },
};

/** OrderService: thin handlers over the saga steps. */
export function orderRoutes(deps: SagaDependencies) {
  return (router: ConnectRouter) =>
    router.service(OrderService, {
      async createOrder(req) {
        return { order: toProto(await createOrder(deps, req)) };
      },
      async getOrder(req) {
        requireUuid("order_id", req.orderId);
        const order = await deps.store.get(req.orderId);
        if (!order) throw new ConnectError(`order ${req.orderId} not found`, Code.NotFound);
        return { order: toProto(order) };
      },
      async listOrders(req) {
        requireUuid("customer_id", req.customerId);
        if (req.pageSize < 0 || req.pageSize > MAX_PAGE) throw new ConnectError(`page_size must be between 0 and ${MAX_PAGE}`, Code.InvalidArgument);
        const after = req.pageToken ? pageToken.decode(req.pageToken) : undefined;
        const limit = req.pageSize || DEFAULT_PAGE;
        const page = await deps.store.listByCustomer(req.customerId, after, limit + 1);
        const orders = page.slice(0, limit);
        return { orders: orders.map(toProto), nextPageToken: page.length > limit ? pageToken.encode(orders.at(-1)!) : "" };
      },
      async confirmOrder(req) {
        return { order: toProto(await confirmOrder(deps, req.orderId, req.cardToken)) };
      },
      async cancelOrder(req) {
        return { order: toProto(await cancelOrder(deps, req.orderId, req.reason)) };
      },
    });
}
