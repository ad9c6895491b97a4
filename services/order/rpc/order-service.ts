import { Code, ConnectError, type ConnectRouter, type HandlerContext } from "@connectrpc/connect";
import { OrderService } from "../../contracts/gen/shop/order/v1/order_service_pb";
import { isUuid } from "../../kit";
import { cancelOrder } from "../app/cancel-order";
import { confirmOrder } from "../app/confirm-order";
import { createOrder } from "../app/create-order";
import type { SagaDeps } from "../app/drive-saga";
import type { Customers, Inventory } from "../app/ports";
import { orderMessage } from "../contract/order-message";
import type { Order } from "../domain/order";
import { OrderRefusal, type RefusalKind } from "../domain/refusal";

const DEFAULT_PAGE = 20;

/** The one place where the order service's refusals become status codes. */
const CODES: Record<RefusalKind, Code> = {
  invalid: Code.InvalidArgument,
  not_found: Code.NotFound,
  not_allowed: Code.FailedPrecondition,
  out_of_stock: Code.FailedPrecondition,
  busy: Code.Aborted,
  unavailable: Code.Unavailable,
  deadline: Code.DeadlineExceeded,
};

const asConnectError = (e: unknown): never => {
  if (e instanceof OrderRefusal) throw new ConnectError(e.message, CODES[e.kind]);
  throw e;
};

/** The caller's deadline as epoch ms, from the call's timeout header (connect-es parses it). */
const deadlineOf = (ctx: HandlerContext) => {
  const ms = ctx.timeoutMs();
  return ms === undefined ? undefined : Date.now() + ms;
};

/** The keyset cursor of ListOrders: opaque to clients, (created_at, id) inside. */
const pageToken = {
  encode: (o: Order) => Buffer.from(JSON.stringify([o.createdAt.toISOString(), o.id])).toString("base64url"),
  decode(token: string): { createdAt: Date; id: string } {
    try {
      const [at, id] = JSON.parse(Buffer.from(token, "base64url").toString());
      const createdAt = new Date(at);
      // Within what Postgres' timestamptz holds, so the cursor never reaches the database malformed.
      if (isUuid(id) && !Number.isNaN(createdAt.getTime()) && Math.abs(createdAt.getUTCFullYear() - 2000) < 1000)
        return { createdAt, id };
    } catch {}
    throw new ConnectError("page_token is not a token this service gave out", Code.InvalidArgument);
  },
};

/**
 * OrderService: thin handlers over the use cases; refusals mapped to codes in one table. Requests arrive
 * checked against their rules in order_service.proto (the kit's validate interceptor).
 */
export function orderRoutes(deps: SagaDeps & { customers: Customers; inventory: Inventory }) {
  return (router: ConnectRouter) =>
    router.service(OrderService, {
      async createOrder(req) {
        return { order: orderMessage(await createOrder(deps, req).catch(asConnectError)) };
      },
      async getOrder(req) {
        const order = await deps.orders.get(req.orderId);
        if (!order) throw new ConnectError(`order ${req.orderId} not found`, Code.NotFound);
        return { order: orderMessage(order) };
      },
      async listOrders(req) {
        const after = req.pageToken ? pageToken.decode(req.pageToken) : undefined;
        const limit = req.pageSize || DEFAULT_PAGE;
        const page = await deps.orders.listByCustomer(req.customerId, after, limit + 1);
        const orders = page.slice(0, limit);
        return {
          orders: orders.map(orderMessage),
          nextPageToken: page.length > limit ? pageToken.encode(orders.at(-1)!) : "",
        };
      },
      async confirmOrder(req, ctx) {
        return {
          order: orderMessage(
            await confirmOrder(deps, req.orderId, req.cardToken, { deadline: deadlineOf(ctx) }).catch(asConnectError),
          ),
        };
      },
      async cancelOrder(req, ctx) {
        return {
          order: orderMessage(
            await cancelOrder(deps, req.orderId, req.reason, { deadline: deadlineOf(ctx) }).catch(asConnectError),
          ),
        };
      },
    });
}
