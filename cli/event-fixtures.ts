/**
 * Writes tests/fixtures/events/<type>.bin: one stored event per event type, the protobuf payload exactly
 * as the outbox relay puts it on the stream, every field set. Run it ONCE for a new event type and commit
 * the file; never rewrite an existing one: the fixtures stand for events an older version wrote, which
 * every consumer of today must still read (tests/event-fixtures.test.ts). A file written again from new
 * schemas would prove nothing. Types that have a fixture already are skipped.
 *
 *   bun cli/event-fixtures.ts
 */
import { create, toBinary, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { OrderStatus } from "../services/contracts/gen/shop/order/v1/order_service_pb";
import { CustomerRegistered } from "../services/customer/contract/events";
import { ReservationExpired } from "../services/inventory/contract/events";
import type { EventType } from "../services/kit/events";
import { OrderCancelled, OrderConfirmed, OrderCreated, OrderPaymentFailed } from "../services/order/contract/events";
import {
  PaymentFailed,
  PaymentProcessed,
  PaymentRefunded,
  PaymentRequested,
} from "../services/payment/contract/events";

export const FIXTURES = join(import.meta.dir, "../tests/fixtures/events");

const AT = timestampFromDate(new Date("2026-12-01T10:00:00Z"));
const ORDER_ID = "5b1c3d7e-0f6a-4c2b-9e8d-1a2b3c4d5e6f";
const CUSTOMER_ID = "0d9c8b7a-6f5e-4d3c-8b2a-1f0e9d8c7b6a";
const PAYMENT_ID = "9a41c0de-2b3c-4d5e-8f70-1a2b3c4d5e6f";
const RESERVATION_ID = "7c6b5a49-3827-4160-a5b4-c3d2e1f0a9b8";
const eur = (amountMinor: bigint) => ({ amountMinor, currency: "EUR" });

const order = (status: OrderStatus, statusReason = "") => ({
  id: ORDER_ID,
  customerId: CUSTOMER_ID,
  lines: [
    { productId: "sku-mug", quantity: 2, unitPrice: eur(1200n) },
    { productId: "sku-pen", quantity: 1, unitPrice: eur(350n) },
  ],
  total: eur(2750n),
  status,
  reservationId: RESERVATION_ID,
  paymentId: status === OrderStatus.PENDING ? "" : PAYMENT_ID,
  statusReason,
  createdAt: AT,
  updatedAt: AT,
});

const fixture = <D extends DescMessage>(type: EventType<D>, init: MessageInitShape<D>) =>
  [type, toBinary(type.schema, create(type.schema, init))] as const;

/** One stored event per type, every field set as its producer sets it. */
export const FIXTURE_EVENTS = [
  fixture(OrderCreated, { order: order(OrderStatus.PENDING) }),
  fixture(OrderConfirmed, { order: order(OrderStatus.CONFIRMED) }),
  fixture(OrderPaymentFailed, { order: order(OrderStatus.PAYMENT_FAILED, "card declined"), reason: "card declined" }),
  fixture(OrderCancelled, {
    order: order(OrderStatus.CANCELLED, "changed my mind"),
    reason: "changed my mind",
    refunded: eur(2750n),
    previousStatus: OrderStatus.CONFIRMED,
  }),
  fixture(PaymentProcessed, { paymentId: PAYMENT_ID, orderId: ORDER_ID, amount: eur(2750n) }),
  fixture(PaymentFailed, { orderId: ORDER_ID, reason: "card declined", paymentId: PAYMENT_ID }),
  fixture(PaymentRefunded, { paymentId: PAYMENT_ID, orderId: ORDER_ID, amount: eur(2750n) }),
  fixture(PaymentRequested, {
    orderId: ORDER_ID,
    amount: eur(2750n),
    cardToken: "tok_success",
    idempotencyKey: `order-${ORDER_ID}`,
  }),
  fixture(ReservationExpired, { reservationId: RESERVATION_ID, orderId: ORDER_ID }),
  fixture(CustomerRegistered, {
    customer: { id: CUSTOMER_ID, email: "ada@example.com", name: "Ada Lovelace", createdAt: AT },
  }),
];

export const fixtureFile = (type: string) => join(FIXTURES, `${type}.bin`);

if (import.meta.main) {
  for (const [type, bytes] of FIXTURE_EVENTS) {
    const file = fixtureFile(type.type);
    if (existsSync(file)) continue;
    writeFileSync(file, bytes);
    console.log(`wrote ${file}`);
  }
}
