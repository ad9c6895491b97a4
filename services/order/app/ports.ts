import type { Order, OrderLine, OrderRecord } from "../domain/order";
import type { ChargeResult, SagaChange, StepOutcome } from "../domain/saga";

/**
 * What the order use cases need from the world, as interfaces: the order's own store, and the three
 * services it calls. main.ts wires the real ones (db/, clients/); tests wire in-memory ones.
 */

export interface NewOrder {
  id: string;
  customerId: string;
  currency: string;
  totalMinor: bigint;
  lines: OrderLine[];
}

export interface OrderRepository {
  /** Stores a new order, PENDING, and announces it (OrderCreated), in one transaction. */
  insert(order: NewOrder): Promise<Order>;
  get(id: string): Promise<Order | undefined>;
  /** The order without its lines. */
  find(id: string): Promise<OrderRecord | undefined>;
  lines(id: string): Promise<OrderLine[]>;
  /** A customer's orders, newest first, strictly after the keyset cursor. */
  listByCustomer(
    customerId: string,
    after: { createdAt: Date; id: string } | undefined,
    limit: number,
  ): Promise<Order[]>;
  /**
   * Takes the order's lease for `leaseMs`: one saga step at a time per order, across replicas. Undefined
   * when someone else holds it or there is no such order. A crashed holder's lease simply runs out. The
   * lease is a token: every write below names it, and one whose lease was taken over (it ran out while
   * its holder was stalled) is refused, so a stalled holder can never overwrite what its successor did.
   */
  claim(id: string, leaseMs: number): Promise<{ order: OrderRecord; lease: string } | undefined>;
  /** Lets the lease go (if it is still ours). */
  release(id: string, lease: string): Promise<void>;
  /** Keeps the lease for `leaseMs` more while a step is at work; false when it is not ours any more. */
  extend(id: string, lease: string, leaseMs: number): Promise<boolean>;
  /**
   * Records a saga change, for the lease holder, in one transaction with what it announces (the event of
   * a final state) and, when asked, a PaymentRequested command; extends the lease by `leaseMs`. A saga
   * left unfinished is the recovery worker's `recoverInMs` from now; `failedAttempt` counts a step that
   * failed transiently (any other change starts the count again). Rejects with a `busy` refusal when
   * the lease is not ours any more, writing nothing.
   */
  record(
    id: string,
    change: SagaChange,
    opts: { lease: string; leaseMs: number; recoverInMs?: number; failedAttempt?: boolean },
  ): Promise<OrderRecord>;
  /** Orders with a saga under way whose time to be taken up has come and that nobody holds, oldest first. */
  due(limit: number): Promise<{ id: string; since: Date }[]>;
}

export interface ItemAvailability {
  productId: string;
  requested: number;
  available: number;
  sufficient: boolean;
  unitPrice?: { amountMinor: bigint; currency: string };
}

/** Step budgets: how long the remote call may take. */
export interface Budget {
  timeoutMs: number;
}

export interface Inventory {
  /** Stock and prices; rejects with an OrderRefusal (not_found, invalid, unavailable). */
  availability(items: { productId: string; quantity: number }[]): Promise<ItemAvailability[]>;
  reserve(
    orderId: string,
    items: { productId: string; quantity: number }[],
    ttlSeconds: number,
    budget: Budget,
  ): Promise<StepOutcome<{ reservationId: string }>>;
  commit(reservationId: string, budget: Budget): Promise<StepOutcome>;
  /** By reservation id, or the order's live reservation (none is not an error). */
  release(what: { reservationId: string } | { orderId: string }, reason: string, budget: Budget): Promise<StepOutcome>;
}

/** A payment as the payment service reports it. */
export interface PaymentView {
  id: string;
  orderId: string;
  state: "captured" | "declined" | "refunded" | "other";
  amountMinor: bigint;
  currency: string;
}

export interface Payments {
  /** The payment with this id, as payment has it; `done` with undefined when there is none. */
  lookup(paymentId: string, budget: Budget): Promise<StepOutcome<PaymentView | undefined>>;
  charge(
    request: { orderId: string; amountMinor: bigint; currency: string; cardToken: string; idempotencyKey: string },
    budget: Budget,
  ): Promise<StepOutcome<ChargeResult>>;
  refund(paymentId: string, reason: string, budget: Budget): Promise<StepOutcome>;
}

export interface Customers {
  /** Whether the customer exists; rejects with an OrderRefusal (unavailable) when that cannot be told. */
  exists(id: string): Promise<boolean>;
}
