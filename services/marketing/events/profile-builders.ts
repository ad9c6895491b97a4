import { timestampDate } from "@bufbuild/protobuf/wkt";
import { OrderStatus, type Order } from "../../contracts/gen/shop/order/v1/order_service_pb";
import { defineConsumer, on } from "../../kit/events";
import { CustomerRegistered, CUSTOMERS } from "../../customer/contract/events";
import { OrderCancelled, OrderConfirmed, OrderCreated, OrderPaymentFailed, ORDERS } from "../../order/contract/events";
import { isUuid } from "../../kit";
import { applyChange } from "../db/profile-store";
import type * as schema from "../db/schema";
import { profileChange } from "../domain/profiles";

const orderProblem = ({ order }: { order?: Order }) =>
  !order ? "order is missing" : !isUuid(order.customerId) ? "order.customer_id must be a UUID" : undefined;

// A profile change is a database write and nothing else, so a busy consumer can commit many at once.
const PROFILE_BATCH = 32;

/** Profiles start at registration: CustomerRegistered. */
export function customerProfiles() {
  return defineConsumer<typeof schema>({
    name: "marketing-customer-profiles",
    stream: CUSTOMERS,
    batch: PROFILE_BATCH,
    handlers: [
      on(
        CustomerRegistered,
        async ({ customer }, { tx, meta }) => {
          await applyChange(
            tx,
            customer!.id,
            profileChange.registered(meta.time, customer!.createdAt && timestampDate(customer!.createdAt)),
          );
        },
        {
          validate: ({ customer }) =>
            !customer ? "customer is missing" : !isUuid(customer.id) ? "customer.id must be a UUID" : undefined,
        },
      ),
    ],
  });
}

/** Orders placed, confirmed (spend), failed and cancelled (refunds) move the customer's profile. */
export function orderProfiles() {
  return defineConsumer<typeof schema>({
    name: "marketing-order-profiles",
    stream: ORDERS,
    batch: PROFILE_BATCH,
    handlers: [
      on(
        OrderCreated,
        async ({ order }, { tx, meta }) => applyChange(tx, order!.customerId, profileChange.orderPlaced(meta.time)),
        { validate: orderProblem },
      ),
      on(
        OrderConfirmed,
        async ({ order }, { tx, meta }) =>
          applyChange(tx, order!.customerId, profileChange.orderConfirmed(meta.time, order!.total)),
        { validate: orderProblem },
      ),
      on(
        OrderPaymentFailed,
        async ({ order }, { tx, meta }) =>
          applyChange(tx, order!.customerId, profileChange.orderPaymentFailed(meta.time)),
        { validate: orderProblem },
      ),
      on(
        OrderCancelled,
        async ({ order, refunded, previousStatus }, { tx, meta }) =>
          applyChange(
            tx,
            order!.customerId,
            profileChange.orderCancelled(
              meta.time,
              refunded,
              previousStatus === OrderStatus.UNSPECIFIED ? undefined : previousStatus === OrderStatus.CONFIRMED,
            ),
          ),
        { validate: orderProblem },
      ),
    ],
  });
}
