// Order's events: the one file of the order service other services, the CLI and tests may import.
import {
  OrderCancelledSchema,
  OrderConfirmedSchema,
  OrderCreatedSchema,
  OrderPaymentFailedSchema,
} from "../../contracts/gen/shop/order/v1/events_pb";
import { defineEvent, defineStream } from "../../kit/events";

export const ORDERS = defineStream("ORDERS", "orders");

export const OrderCreated = defineEvent(ORDERS, OrderCreatedSchema, "created");
export const OrderConfirmed = defineEvent(ORDERS, OrderConfirmedSchema, "confirmed");
export const OrderPaymentFailed = defineEvent(ORDERS, OrderPaymentFailedSchema, "payment_failed");
export const OrderCancelled = defineEvent(ORDERS, OrderCancelledSchema, "cancelled");
