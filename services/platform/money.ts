/**
 * Money is shared by every service that prices or charges. What one amount may be (positive, at most
 * MAX_AMOUNT_MINOR, in EUR, USD or GBP) is the rule of shop.common.v1.Money in money.proto, checked on
 * every request that carries one; what is left here is the bound on a sum of them (an order's total).
 */

/** Ten million major units: anything above is a typo or an attack, not an order. Money.amount_minor's `lte`. */
export const MAX_AMOUNT_MINOR = 1_000_000_000n;
