/** Money is shared by every service that prices or charges: one rule for what a valid amount is. */
import type { Money } from "../contracts/gen/shop/common/v1/money_pb";

/** Currencies the shop prices and charges in. */
export const CURRENCIES = ["EUR", "USD", "GBP"] as const;

/** Ten million major units: anything above is a typo or an attack, not an order. */
export const MAX_AMOUNT_MINOR = 1_000_000_000n;

/** Returns what is wrong with an amount, naming the field, or undefined when it is fine. */
export function moneyProblem(field: string, money: Money | undefined, { allowZero = false } = {}): string | undefined {
  if (!money) return `${field} is required`;
  if (!CURRENCIES.includes(money.currency as (typeof CURRENCIES)[number]))
    return `${field}.currency must be one of ${CURRENCIES.join(", ")}, got "${money.currency}"`;
  if (money.amountMinor < 0n || (!allowZero && money.amountMinor === 0n))
    return `${field}.amount_minor must be positive`;
  if (money.amountMinor > MAX_AMOUNT_MINOR) return `${field}.amount_minor must be at most ${MAX_AMOUNT_MINOR}`;
  return undefined;
}
