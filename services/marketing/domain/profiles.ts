/** What marketing knows of a customer, built from customer and order events. */
export interface CustomerProfile {
  customerId: string;
  /** From CustomerRegistered; undefined while only order events were seen. */
  registeredAt?: Date;
  ordersPlaced: number;
  ordersConfirmed: number;
  ordersCancelled: number;
  paymentFailures: number;
  /** Confirmed spend net of refunds, in minor units, per currency (never converted: no float, no rates). */
  spent: { currency: string; amountMinor: bigint }[];
  /** The time of the newest event about this customer. */
  lastActivity: Date;
}

/** What one event changes in a profile: counters to add, spend to add (negative: a refund), when it happened. */
export interface ProfileChange {
  at: Date;
  registeredAt?: Date;
  placed?: number;
  confirmed?: number;
  cancelled?: number;
  paymentFailed?: number;
  spend?: { currency: string; amountMinor: bigint };
}

type Money = { currency: string; amountMinor: bigint } | undefined;

/** The change an event makes; `at` is the event's time (ce-time). */
export const profileChange = {
  registered: (at: Date, registeredAt: Date | undefined): ProfileChange => ({ at, registeredAt: registeredAt ?? at }),
  orderPlaced: (at: Date): ProfileChange => ({ at, placed: 1 }),
  orderConfirmed: (at: Date, total: Money): ProfileChange => ({
    at,
    confirmed: 1,
    spend: total && { currency: total.currency, amountMinor: total.amountMinor },
  }),
  orderPaymentFailed: (at: Date): ProfileChange => ({ at, paymentFailed: 1 }),
  /**
   * A refund takes off the spend only of an order that was confirmed (its total was counted then). One
   * refunded before it was confirmed (its reservation ran out while the charge landed) never counted.
   * `wasConfirmed` undefined: an event from before the order service said so; counted as confirmed.
   */
  orderCancelled: (at: Date, refunded: Money, wasConfirmed?: boolean): ProfileChange => ({
    at,
    cancelled: 1,
    spend:
      refunded && refunded.amountMinor > 0n && wasConfirmed !== false
        ? { currency: refunded.currency, amountMinor: -refunded.amountMinor }
        : undefined,
  }),
};

export const SEGMENTS = [
  "new_customer",
  "no_purchase_yet",
  "first_time_buyer",
  "repeat_buyer",
  "high_value",
  "payment_trouble",
  "lapsed",
] as const;
export type Segment = (typeof SEGMENTS)[number];

/** Net spend (minor units, any one currency) from which a customer is high value: 500.00. */
export const HIGH_VALUE_MINOR = 50_000n;
/** Registered within this many days: a new customer. */
export const NEW_CUSTOMER_DAYS = 30;
/** A buyer silent for this many days has lapsed. */
export const LAPSED_AFTER_DAYS = 90;
/** Failed payments from which a customer has payment trouble. */
export const PAYMENT_TROUBLE_FAILURES = 2;

const DAY_MS = 86_400_000;

/** The simple segments a profile falls in at `now`; computed on read, so time alone can move a customer. */
export function segmentsOf(p: CustomerProfile, now: Date): Segment[] {
  const out: Segment[] = [];
  if (p.registeredAt && now.getTime() - p.registeredAt.getTime() <= NEW_CUSTOMER_DAYS * DAY_MS)
    out.push("new_customer");
  if (p.ordersConfirmed === 0) out.push("no_purchase_yet");
  if (p.ordersConfirmed === 1) out.push("first_time_buyer");
  if (p.ordersConfirmed >= 2) out.push("repeat_buyer");
  if (p.spent.some((s) => s.amountMinor >= HIGH_VALUE_MINOR)) out.push("high_value");
  if (p.paymentFailures >= PAYMENT_TROUBLE_FAILURES) out.push("payment_trouble");
  if (p.ordersConfirmed > 0 && now.getTime() - p.lastActivity.getTime() > LAPSED_AFTER_DAYS * DAY_MS)
    out.push("lapsed");
  return out;
}
