import type { Money } from "../../contracts/gen/shop/common/v1/money_pb";
import type { Order } from "../../contracts/gen/shop/order/v1/order_service_pb";
import type { EmailKind } from "../db/schema";
import { render, type Template } from "./templates";

export interface Recipient {
  email: string;
  name: string;
}

export interface OrderEmail {
  kind: EmailKind;
  to: Recipient;
  subject: string;
  text: string;
}

/** Minor units as a price a person reads: 4499 EUR → "44.99 EUR". Every shop currency has two decimals. */
export function formatMoney(money: Money | undefined): string {
  if (!money) return "";
  const minor = money.amountMinor < 0n ? -money.amountMinor : money.amountMinor;
  const major = minor / 100n;
  const cents = (minor % 100n).toString().padStart(2, "0");
  return `${money.amountMinor < 0n ? "-" : ""}${major}.${cents} ${money.currency}`;
}

/** What an order event must carry for an e-mail about it; undefined when it is usable. */
export function orderEventProblem(event: { order?: Order }): string | undefined {
  if (!event.order) return "order is missing";
  if (!event.order.id) return "order.id is missing";
  if (!event.order.customerId) return "order.customer_id is missing";
  return undefined;
}

/** The e-mail about an order event, rendered from its kind's template. */
export function orderEmail(
  kind: EmailKind,
  template: Template,
  to: Recipient,
  event: { order?: Order; reason?: string; refunded?: Money },
): OrderEmail {
  const order = event.order!;
  const lines = order.lines.map((l) => `  ${l.quantity} x ${l.productId} at ${formatMoney(l.unitPrice)}`).join("\n");
  const rendered = render(template, {
    customerName: to.name,
    orderId: order.id,
    orderRef: order.id.slice(0, 8).toUpperCase(),
    total: formatMoney(order.total),
    lines: `Items:\n${lines}\nTotal: ${formatMoney(order.total)}`,
    reason: event.reason || "no reason was given",
    refund:
      event.refunded && event.refunded.amountMinor > 0n
        ? `We have refunded ${formatMoney(event.refunded)} to your card.`
        : "Nothing was charged.",
  });
  return { kind, to, subject: rendered.subject, text: rendered.body };
}
