/**
 * An order and the states it moves through. The saga (saga.ts) moves it; these types are what every
 * layer of the order service speaks.
 *
 *   pending ──confirm──▶ reserving ──▶ reserved ──▶ paid ──▶ confirmed
 *                            │             │  └──▶ payment_pending ──▶ paid | payment_failed
 *                            ▼             ▼
 *                         pending    payment_failed          (and cancelled from any but payment_pending)
 */
export const ORDER_STATES = [
  "pending",
  "reserving",
  "reserved",
  "paid",
  "payment_pending",
  "confirmed",
  "payment_failed",
  "cancelled",
] as const;
export type OrderState = (typeof ORDER_STATES)[number];

/**
 * The state a saga under way is driving an order to, recorded before its first step so that whoever
 * resumes it (a retry, another replica, the recovery worker after a crash) knows which way to go:
 * forward to `confirmed`, or back, giving back what the order holds, to `pending` (a confirm that could
 * not reach payment), `payment_failed` or `cancelled`. Empty when nothing is under way.
 */
export const SAGA_TARGETS = ["", "confirmed", "pending", "payment_failed", "cancelled"] as const;
export type SagaTarget = (typeof SAGA_TARGETS)[number];

export interface OrderLine {
  lineNo: number;
  productId: string;
  quantity: number;
  unitPriceMinor: bigint;
}

/** What the saga knows of an order: the row without its lines. */
export interface OrderRecord {
  id: string;
  customerId: string;
  state: OrderState;
  target: SagaTarget;
  currency: string;
  totalMinor: bigint;
  reservationId: string;
  paymentId: string;
  /** The card token of the confirm under way; needed to resume its charge, cleared when it ends. */
  cardToken: string;
  /** Whether the captured payment was given back (on the way to cancelled). */
  refunded: boolean;
  stateReason: string;
  /** Transient failures of the saga's current step in a row: the recovery worker backs off by them. */
  attempts: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface Order extends OrderRecord {
  lines: OrderLine[];
}

/** The states in which nothing is left to do, whatever happens. */
export const FINAL_STATES: ReadonlySet<OrderState> = new Set(["confirmed", "payment_failed", "cancelled"]);

/** The idempotency key of an order's charge: the same for every attempt, synchronous or not, so the order is charged at most once. */
export const paymentKey = (orderId: string) => `order-${orderId}`;
