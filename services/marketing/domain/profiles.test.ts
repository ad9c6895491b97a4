import { describe, expect, test } from "bun:test";
import { HIGH_VALUE_MINOR, profileChange, segmentsOf, type CustomerProfile } from "./profiles";

const now = new Date("2025-06-01T12:00:00Z");
const daysAgo = (n: number) => new Date(now.getTime() - n * 86_400_000);
const profile = (over: Partial<CustomerProfile> = {}): CustomerProfile => ({
  customerId: "c-1",
  registeredAt: daysAgo(100),
  ordersPlaced: 0,
  ordersConfirmed: 0,
  ordersCancelled: 0,
  paymentFailures: 0,
  spent: [],
  lastActivity: daysAgo(1),
  ...over,
});

describe("segmentsOf", () => {
  test("a fresh registration is a new customer who has not bought yet", () => {
    expect(segmentsOf(profile({ registeredAt: daysAgo(2) }), now)).toEqual(["new_customer", "no_purchase_yet"]);
  });

  test("one confirmed order makes a first-time buyer, two a repeat buyer", () => {
    expect(segmentsOf(profile({ ordersConfirmed: 1 }), now)).toEqual(["first_time_buyer"]);
    expect(segmentsOf(profile({ ordersConfirmed: 3 }), now)).toEqual(["repeat_buyer"]);
  });

  test("high value from the net spend in one currency, never by adding currencies", () => {
    const spent = (eur: bigint, usd: bigint) => [
      { currency: "EUR", amountMinor: eur },
      { currency: "USD", amountMinor: usd },
    ];
    expect(segmentsOf(profile({ ordersConfirmed: 2, spent: spent(HIGH_VALUE_MINOR, 0n) }), now)).toContain(
      "high_value",
    );
    expect(
      segmentsOf(profile({ ordersConfirmed: 2, spent: spent(HIGH_VALUE_MINOR - 1n, HIGH_VALUE_MINOR - 1n) }), now),
    ).not.toContain("high_value");
  });

  test("payment trouble from two failed payments; a buyer silent for over 90 days has lapsed", () => {
    expect(segmentsOf(profile({ paymentFailures: 1 }), now)).not.toContain("payment_trouble");
    expect(segmentsOf(profile({ paymentFailures: 2 }), now)).toContain("payment_trouble");
    expect(segmentsOf(profile({ ordersConfirmed: 1, lastActivity: daysAgo(91) }), now)).toContain("lapsed");
    expect(segmentsOf(profile({ ordersConfirmed: 0, lastActivity: daysAgo(91) }), now)).not.toContain("lapsed");
  });

  test("a profile known only from orders (no registration seen) is never a new customer", () => {
    expect(segmentsOf(profile({ registeredAt: undefined }), now)).toEqual(["no_purchase_yet"]);
  });
});

describe("profileChange", () => {
  test("a confirmed order adds its total; a cancellation with a refund takes it off again", () => {
    expect(profileChange.orderConfirmed(now, { currency: "EUR", amountMinor: 4499n })).toEqual({
      at: now,
      confirmed: 1,
      spend: { currency: "EUR", amountMinor: 4499n },
    });
    expect(profileChange.orderCancelled(now, { currency: "EUR", amountMinor: 4499n })).toEqual({
      at: now,
      cancelled: 1,
      spend: { currency: "EUR", amountMinor: -4499n },
    });
  });

  test("a refund before the order was confirmed takes off nothing: that total was never spent", () => {
    expect(profileChange.orderCancelled(now, { currency: "EUR", amountMinor: 4499n }, false).spend).toBeUndefined();
    expect(profileChange.orderCancelled(now, { currency: "EUR", amountMinor: 4499n }, true).spend).toEqual({
      currency: "EUR",
      amountMinor: -4499n,
    });
  });

  test("a cancellation without a refund changes no spend", () => {
    expect(profileChange.orderCancelled(now, undefined)).toEqual({ at: now, cancelled: 1, spend: undefined });
    expect(profileChange.orderCancelled(now, { currency: "EUR", amountMinor: 0n }).spend).toBeUndefined();
  });
});
