import type { DescMessage, DescMethodUnary, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import { InventoryService } from "../../contracts/gen/shop/inventory/v1/inventory_service_pb";
import { OrderService } from "../../contracts/gen/shop/order/v1/order_service_pb";
import type { Access } from "./caller";
import { checkListOwner, checkOrderOwner, orderCustomerId } from "./order-ownership";

/** Calls a backend method on the caller's behalf (used by guards to look things up). */
export type BackendCall = <I extends DescMessage, O extends DescMessage>(
  method: DescMethodUnary<I, O>,
  request: MessageInitShape<I>,
) => Promise<MessageShape<O>>;

/**
 * What a customer (not an admin) may do with a method beyond its access rule: `before` checks or
 * completes the request and may look things up; `after` checks the answer.
 */
export interface CustomerScope<I extends DescMessage = DescMessage, O extends DescMessage = DescMessage> {
  before?(customerId: string, request: MessageShape<I>, call: BackendCall): Promise<void> | void;
  after?(customerId: string, request: MessageShape<I>, response: MessageShape<O>): void;
}

export interface ExposedMethod<I extends DescMessage = DescMessage, O extends DescMessage = DescMessage> {
  method: DescMethodUnary<I, O>;
  access: Access;
  customerScope?: CustomerScope<I, O>;
}

function expose<I extends DescMessage, O extends DescMessage>(
  method: DescMethodUnary<I, O>,
  access: Access,
  customerScope?: CustomerScope<I, O>,
): ExposedMethod {
  return { method, access, customerScope } as unknown as ExposedMethod;
}

const order = OrderService.method;
const inventory = InventoryService.method;

/** Loads the order first, so a customer cannot act on someone else's order. */
const ownOrderFirst = {
  async before(customerId: string, req: { orderId: string }, call: BackendCall) {
    const { order: found } = await call(order.getOrder, { orderId: req.orderId });
    checkOrderOwner(customerId, req.orderId, found);
  },
};

/**
 * The allow-list: only these methods are reachable through the gateway, each with who may call it.
 * Reservations and PaymentService are internal (the order saga calls them), so they are not here.
 */
export const EXPOSED_METHODS: readonly ExposedMethod[] = [
  expose(order.createOrder, "customer", {
    before: (customerId, req) => void (req.customerId = orderCustomerId(customerId, req.customerId)),
  }),
  expose(order.getOrder, "customer", {
    after: (customerId, req, res) => checkOrderOwner(customerId, req.orderId, res.order),
  }),
  expose(order.listOrders, "customer", { before: (customerId, req) => checkListOwner(customerId, req.customerId) }),
  expose(order.confirmOrder, "customer", ownOrderFirst),
  expose(order.cancelOrder, "customer", ownOrderFirst),
  expose(inventory.getProduct, "public"),
  expose(inventory.listProducts, "public"),
  expose(inventory.checkAvailability, "public"),
  expose(inventory.upsertProduct, "admin"),
];
