import type { Money } from "../../contracts/gen/shop/common/v1/money_pb";
import type { Order } from "../../contracts/gen/shop/order/v1/order_service_pb";
import { defineConsumer, on, type HandlerContext, PoisonMessage } from "../../kit/events";
import { OrderCancelled, OrderConfirmed, OrderPaymentFailed, ORDERS } from "../../order/contract/events";
import { isUuid } from "../../kit";
import { findCustomer, recordEmail, saveCustomer, type KnownCustomer } from "../db/notification-store";
import type * as schema from "../db/schema";
import type { EmailKind } from "../db/schema";
import { orderEmail, orderEventProblem } from "../domain/order-email";
import { isTransientSmtpFailure } from "../domain/smtp-failure";
import type { Template } from "../domain/templates";
import type { Mailer } from "../mail/mailer";

export interface OrderEmailDeps {
  templates: Record<EmailKind, Template>;
  mailer: Mailer;
  /** The From: address. */
  from: string;
  /** Asks the customer service, for a customer whose registration this service has not seen. */
  lookupCustomer?(id: string): Promise<KnownCustomer | undefined>;
}

type OrderEvent = { order?: Order; reason?: string; refunded?: Money };

/**
 * E-mails the customer when an order is confirmed, its payment failed, or it is cancelled: exactly
 * one per event. The e-mail is sent inside the handler's transaction, after its row and the inbox row
 * are written: a copy of the same event waits on the inbox row and then finds it taken; a failed send
 * rolls both back and the event comes again (4xx, no connection) or is dead-lettered (5xx).
 */
export function orderEmails(deps: OrderEmailDeps) {
  const validate = (e: OrderEvent) =>
    orderEventProblem(e) ??
    (isUuid(e.order!.customerId) && isUuid(e.order!.id) ? undefined : "order.id and order.customer_id must be UUIDs");
  const send =
    (kind: EmailKind) =>
    async (event: OrderEvent, { tx, meta, log }: HandlerContext<typeof schema>) => {
      const order = event.order!;
      const customer = await recipient(deps, tx, order.customerId);
      const mail = orderEmail(kind, deps.templates[kind], customer, event);
      const key = `${kind}-${meta.id}`;
      const messageId = `<${key}@notification.shop>`;
      await recordEmail(tx, {
        eventId: meta.id,
        kind,
        orderId: order.id,
        customerId: order.customerId,
        recipient: customer.email,
        subject: mail.subject,
        messageId,
      });
      try {
        await deps.mailer.send({ key, from: deps.from, to: mail.to, subject: mail.subject, text: mail.text });
      } catch (e) {
        const why = `sending to ${customer.email} failed: ${e instanceof Error ? e.message : e}`;
        if (!isTransientSmtpFailure(e)) throw new PoisonMessage(why);
        throw new Error(why);
      }
      log.info({ kind, order_id: order.id, to: customer.email, via: deps.mailer.target }, "e-mail sent");
    };
  return defineConsumer<typeof schema>({
    name: "notification-order-emails",
    stream: ORDERS,
    handlers: [
      on(OrderConfirmed, send("order_confirmed"), { validate }),
      on(OrderPaymentFailed, send("order_payment_failed"), { validate }),
      on(OrderCancelled, send("order_cancelled"), { validate }),
    ],
  });
}

async function recipient(
  deps: OrderEmailDeps,
  tx: HandlerContext<typeof schema>["tx"],
  customerId: string,
): Promise<KnownCustomer> {
  const known = await findCustomer(tx, customerId);
  if (known) return known;
  const asked = await deps.lookupCustomer?.(customerId);
  if (asked) {
    await saveCustomer(tx, asked);
    return asked;
  }
  // Retryable: the registration may still be on its way (another stream, another consumer).
  throw new Error(
    `customer ${customerId} is not known: no CustomerRegistered seen${deps.lookupCustomer ? " and the customer service does not know it" : ""}`,
  );
}
