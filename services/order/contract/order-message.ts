import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  OrderSchema,
  OrderStatus,
  type Order as OrderMessage,
} from "../../contracts/gen/shop/order/v1/order_service_pb";
import type { Order, OrderState } from "../domain/order";

/**
 * The status a client sees for each state. The saga's inner steps show as the nearest public status:
 * a confirm that is reserving is still PENDING; an order whose payment was captured but whose stock is
 * not yet committed is PAYMENT_PENDING (its payment is not finished with), as is one waiting for payment's
 * asynchronous charge.
 */
export const STATUS_OF: Record<OrderState, OrderStatus> = {
  pending: OrderStatus.PENDING,
  reserving: OrderStatus.PENDING,
  reserved: OrderStatus.RESERVED,
  paid: OrderStatus.PAYMENT_PENDING,
  payment_pending: OrderStatus.PAYMENT_PENDING,
  confirmed: OrderStatus.CONFIRMED,
  payment_failed: OrderStatus.PAYMENT_FAILED,
  cancelled: OrderStatus.CANCELLED,
};

/** An order as the contract (proto) shows it, in RPC answers and in events. */
export function orderMessage(o: Order): OrderMessage {
  return create(OrderSchema, {
    id: o.id,
    customerId: o.customerId,
    lines: o.lines.map((l) => ({
      productId: l.productId,
      quantity: l.quantity,
      unitPrice: { amountMinor: l.unitPriceMinor, currency: o.currency },
    })),
    total: { amountMinor: o.totalMinor, currency: o.currency },
    status: STATUS_OF[o.state],
    reservationId: o.reservationId,
    paymentId: o.paymentId,
    statusReason: o.stateReason,
    createdAt: timestampFromDate(o.createdAt),
    updatedAt: timestampFromDate(o.updatedAt),
  });
}
