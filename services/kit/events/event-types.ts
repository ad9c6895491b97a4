import type { DescMessage } from "@bufbuild/protobuf";
import { CustomerRegisteredSchema } from "../../contracts/gen/shop/customer/v1/customer_pb";
import { ReservationExpiredSchema } from "../../contracts/gen/shop/inventory/v1/events_pb";
import { OrderCancelledSchema, OrderConfirmedSchema, OrderCreatedSchema, OrderPaymentFailedSchema } from "../../contracts/gen/shop/order/v1/events_pb";
import {
  PaymentFailedSchema,
  PaymentProcessedSchema,
  PaymentRefundedSchema,
  PaymentRequestedSchema,
} from "../../contracts/gen/shop/payment/v1/events_pb";
import { DOMAIN_STREAMS, type DomainStream } from "./streams";

/**
 * An event: its protobuf message and the subject it travels on (`<domain>.<event>`, unprefixed).
 * The CloudEvents type is the message's full name, e.g. `shop.order.v1.OrderConfirmed`.
 */
export interface EventType<D extends DescMessage = DescMessage> {
  readonly schema: D;
  readonly subject: string;
  readonly type: string;
  readonly stream: DomainStream;
}

export function eventType<D extends DescMessage>(schema: D, subject: string): EventType<D> {
  const domain = subject.split(".")[0];
  const stream = (Object.keys(DOMAIN_STREAMS) as DomainStream[]).find((s) => DOMAIN_STREAMS[s] === domain);
  if (!stream || subject.split(".").length !== 2) throw new Error(`event subject ${subject} is not <domain>.<event> of a known domain`);
  return { schema, subject, type: schema.typeName, stream };
}

// The platform's events, owned by their producers; subjects as documented in proto/shop/*/v1.
export const OrderCreated = eventType(OrderCreatedSchema, "orders.created");
export const OrderConfirmed = eventType(OrderConfirmedSchema, "orders.confirmed");
export const OrderPaymentFailed = eventType(OrderPaymentFailedSchema, "orders.payment_failed");
export const OrderCancelled = eventType(OrderCancelledSchema, "orders.cancelled");
export const PaymentProcessed = eventType(PaymentProcessedSchema, "payments.processed");
export const PaymentFailed = eventType(PaymentFailedSchema, "payments.failed");
export const PaymentRefunded = eventType(PaymentRefundedSchema, "payments.refunded");
/** A command rather than an event: the order service asks for a charge it could not make synchronously. */
export const PaymentRequested = eventType(PaymentRequestedSchema, "payments.requested");
export const ReservationExpired = eventType(ReservationExpiredSchema, "inventory.reservation_expired");
export const CustomerRegistered = eventType(CustomerRegisteredSchema, "customers.registered");

/** Every event by its CloudEvents type, for tools that decode what they find (the DLQ CLI). */
export const EVENT_TYPES: ReadonlyMap<string, EventType> = new Map(
  [OrderCreated, OrderConfirmed, OrderPaymentFailed, OrderCancelled, PaymentProcessed, PaymentFailed, PaymentRefunded, PaymentRequested, ReservationExpired, CustomerRegistered].map(
    (t) => [t.type, t as EventType],
  ),
);
