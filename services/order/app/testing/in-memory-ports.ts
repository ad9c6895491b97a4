// In-memory stand-ins for the order use cases' ports, for tests that run every saga outcome and every
// recovery path in process, in milliseconds. They keep the promises the real adapters keep (a lease per
// order, a change recorded with its announcement, reserve idempotent per order, charge idempotent per
// key) and can be told to fail the next call of a step, or to do it and lose the answer.
import pino from "pino";
import type { Order, OrderLine, OrderRecord, OrderState } from "../../domain/order";
import { announcement, type OrderAnnouncement } from "../../domain/order-events";
import type { ChargeResult, SagaChange, StepOutcome } from "../../domain/saga";
import type { SagaDeps } from "../drive-saga";
import type { Customers, Inventory, NewOrder, OrderRepository, PaymentView, Payments } from "../ports";
import { OrderRefusal } from "../../domain/refusal";

/** A clock the test moves. */
export class TestClock {
  constructor(public ms = Date.UTC(2026, 0, 1)) {}
  now = () => this.ms;
  advance(ms: number) {
    this.ms += ms;
  }
}

interface Row extends OrderRecord {
  leaseUntil?: number;
  leaseToken?: string;
  recoverAt?: number;
}

export class InMemoryOrders implements OrderRepository {
  readonly rows = new Map<string, Row>();
  readonly lineRows = new Map<string, OrderLine[]>();
  /** What was announced (and commands written), in commit order. */
  readonly published: ({ orderId: string } & (OrderAnnouncement | { kind: "payment_requested"; cardToken: string }))[] =
    [];
  /** Makes the next `record` fail as a database that went away would. */
  failNextRecord = 0;

  constructor(private readonly clock: TestClock) {}

  async insert(o: NewOrder): Promise<Order> {
    const at = new Date(this.clock.now());
    const row: Row = {
      ...o,
      state: "pending",
      target: "",
      reservationId: "",
      paymentId: "",
      cardToken: "",
      refunded: false,
      stateReason: "",
      attempts: 0,
      createdAt: at,
      updatedAt: at,
    };
    this.rows.set(o.id, row);
    this.lineRows.set(o.id, o.lines);
    this.published.push({ orderId: o.id, kind: "created" });
    return { ...this.#record(row), lines: o.lines };
  }
  async get(id: string) {
    const row = this.rows.get(id);
    return row && { ...this.#record(row), lines: this.lineRows.get(id)! };
  }
  async find(id: string) {
    const row = this.rows.get(id);
    return row && this.#record(row);
  }
  async lines(id: string) {
    return this.lineRows.get(id) ?? [];
  }
  async listByCustomer(customerId: string, _after: unknown, limit: number) {
    return [...this.rows.values()]
      .filter((r) => r.customerId === customerId)
      .slice(0, limit)
      .map((r) => ({ ...this.#record(r), lines: this.lineRows.get(r.id)! }));
  }
  async claim(id: string, leaseMs: number) {
    const row = this.rows.get(id);
    if (!row || (row.leaseUntil !== undefined && row.leaseUntil > this.clock.now())) return undefined;
    row.leaseUntil = this.clock.now() + leaseMs;
    row.leaseToken = crypto.randomUUID();
    return { order: this.#record(row), lease: row.leaseToken };
  }
  async release(id: string, lease: string) {
    const row = this.rows.get(id);
    if (row?.leaseToken === lease) row.leaseUntil = row.leaseToken = undefined;
  }
  async extend(id: string, lease: string, leaseMs: number) {
    const row = this.rows.get(id);
    if (row?.leaseToken !== lease) return false;
    row.leaseUntil = this.clock.now() + leaseMs;
    return true;
  }
  async record(
    id: string,
    change: SagaChange,
    opts: { lease: string; leaseMs: number; recoverInMs?: number; failedAttempt?: boolean },
  ) {
    if (this.failNextRecord > 0) {
      this.failNextRecord--;
      throw Object.assign(new Error("write CONNECTION_CLOSED"), { code: "CONNECTION_CLOSED" });
    }
    const row = this.rows.get(id)!;
    if (row.leaseToken !== opts.lease)
      throw new OrderRefusal(
        "busy",
        `order ${id} was taken over by another worker (its lease ran out); nothing recorded`,
      );
    const from = row.state;
    const { requestPayment, ...fields } = change;
    Object.assign(row, Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)));
    const now = this.clock.now();
    row.updatedAt = new Date(now);
    row.leaseUntil = now + opts.leaseMs;
    row.recoverAt = row.target === "" ? undefined : now + (opts.recoverInMs ?? 0);
    row.attempts = opts.failedAttempt ? row.attempts + 1 : 0;
    const news = announcement(from, row);
    if (news) this.published.push({ orderId: id, ...news });
    if (requestPayment) this.published.push({ orderId: id, kind: "payment_requested", cardToken: row.cardToken });
    return this.#record(row);
  }
  async due(limit: number) {
    const now = this.clock.now();
    return [...this.rows.values()]
      .filter(
        (r) =>
          r.target !== "" &&
          r.recoverAt !== undefined &&
          r.recoverAt <= now &&
          (r.leaseUntil === undefined || r.leaseUntil < now),
      )
      .sort((a, b) => a.recoverAt! - b.recoverAt!)
      .slice(0, limit)
      .map((r) => ({ id: r.id, since: r.updatedAt }));
  }
  /** As a process that died holding the lease leaves it: held until it runs out. */
  abandonLease(id: string, untilMs: number) {
    const row = this.rows.get(id)!;
    row.leaseUntil = untilMs;
    row.leaseToken = crypto.randomUUID();
  }
  #record(row: Row): OrderRecord {
    const { leaseUntil: _l, leaseToken: _t, recoverAt: _r, ...record } = row;
    return { ...record };
  }
}

/** What a scripted failure does: fail before acting, or act and then lose the answer (a timeout, a dropped connection). */
type Fault = "refuse" | "unavailable" | "lost-answer";

class Faults<Op extends string> {
  readonly #next = new Map<Op, Fault[]>();
  /** The next `times` calls of `op` fail this way. */
  fail(op: Op, fault: Fault, times = 1) {
    this.#next.set(op, [...(this.#next.get(op) ?? []), ...Array<Fault>(times).fill(fault)]);
  }
  take(op: Op): Fault | undefined {
    return this.#next.get(op)?.shift();
  }
}

interface Reservation {
  id: string;
  orderId: string;
  status: "active" | "committed" | "released" | "expired";
  items: { productId: string; quantity: number }[];
}

export class FakeInventory implements Inventory {
  readonly faults = new Faults<"reserve" | "commit" | "release" | "availability">();
  readonly reservations = new Map<string, Reservation>();
  readonly stock = new Map<string, { stock: number; reserved: number; priceMinor: bigint }>();
  calls: string[] = [];

  product(id: string, stock: number, priceMinor = 1000n) {
    this.stock.set(id, { stock, reserved: 0, priceMinor });
  }
  /** Units the order's live reservation holds. */
  held(orderId: string) {
    return [...this.reservations.values()]
      .filter((r) => r.orderId === orderId && r.status === "active")
      .reduce((n, r) => n + r.items.reduce((m, i) => m + i.quantity, 0), 0);
  }
  expire(reservationId: string) {
    const r = this.reservations.get(reservationId)!;
    this.#giveBack(r);
    r.status = "expired";
  }

  async availability(items: { productId: string; quantity: number }[]) {
    if (this.faults.take("availability")) throw new Error("inventory unavailable");
    return items.map((i) => {
      const p = this.stock.get(i.productId);
      const available = p ? p.stock - p.reserved : 0;
      return {
        productId: i.productId,
        requested: i.quantity,
        available,
        sufficient: !!p && available >= i.quantity,
        unitPrice: p && { amountMinor: p.priceMinor, currency: "EUR" },
      };
    });
  }
  async reserve(
    orderId: string,
    items: { productId: string; quantity: number }[],
  ): Promise<StepOutcome<{ reservationId: string }>> {
    this.calls.push(`reserve ${orderId}`);
    const fault = this.faults.take("reserve");
    if (fault === "refuse") return { kind: "refused", reason: "inventory: not enough stock" };
    if (fault === "unavailable") return { kind: "unavailable", reason: "inventory: unavailable" };
    const live = [...this.reservations.values()].find(
      (r) => r.orderId === orderId && (r.status === "active" || r.status === "committed"),
    );
    let id = live?.id;
    if (!live) {
      if (
        items.some((i) => {
          const p = this.stock.get(i.productId);
          return !p || p.stock - p.reserved < i.quantity;
        })
      )
        return { kind: "refused", reason: "inventory: not enough stock" };
      id = crypto.randomUUID();
      for (const i of items) this.stock.get(i.productId)!.reserved += i.quantity;
      this.reservations.set(id, { id, orderId, status: "active", items });
    }
    if (fault === "lost-answer") return { kind: "unavailable", reason: "inventory: deadline exceeded" };
    return { kind: "done", value: { reservationId: id! } };
  }
  async commit(reservationId: string): Promise<StepOutcome> {
    this.calls.push(`commit ${reservationId}`);
    const fault = this.faults.take("commit");
    if (fault === "unavailable") return { kind: "unavailable", reason: "inventory: unavailable" };
    const r = this.reservations.get(reservationId);
    if (!r || (r.status !== "active" && r.status !== "committed") || fault === "refuse")
      return { kind: "refused", reason: `inventory: reservation ${reservationId} is ${r?.status ?? "unknown"}` };
    if (r.status === "active") {
      for (const i of r.items) {
        const p = this.stock.get(i.productId)!;
        p.reserved -= i.quantity;
        p.stock -= i.quantity;
      }
      r.status = "committed";
    }
    if (fault === "lost-answer") return { kind: "unavailable", reason: "inventory: deadline exceeded" };
    return { kind: "done", value: undefined };
  }
  async release(what: { reservationId: string } | { orderId: string }): Promise<StepOutcome> {
    this.calls.push(`release ${"orderId" in what ? `order ${what.orderId}` : what.reservationId}`);
    const fault = this.faults.take("release");
    if (fault === "unavailable") return { kind: "unavailable", reason: "inventory: unavailable" };
    const r =
      "orderId" in what
        ? [...this.reservations.values()].find((x) => x.orderId === what.orderId && x.status === "active")
        : this.reservations.get(what.reservationId);
    if (r?.status === "committed") return { kind: "refused", reason: `inventory: reservation ${r.id} is committed` };
    if (r?.status === "active") {
      this.#giveBack(r);
      r.status = "released";
    }
    return { kind: "done", value: undefined };
  }
  #giveBack(r: Reservation) {
    if (r.status !== "active") return;
    for (const i of r.items) this.stock.get(i.productId)!.reserved -= i.quantity;
  }
}

/** Payment and its card provider in one: at most one capture per idempotency key, whatever is asked. */
export class FakePayments implements Payments {
  readonly faults = new Faults<"charge" | "refund">();
  /** By idempotency key. */
  readonly charges = new Map<
    string,
    {
      paymentId: string;
      orderId: string;
      state: "captured" | "declined" | "refunded";
      reason: string;
      amountMinor: bigint;
      currency: string;
    }
  >();
  /** Card tokens that decline. */
  declines = new Set(["tok_declined"]);
  calls: string[] = [];

  captures(orderId: string) {
    return [...this.charges.values()].filter(
      (c) => c.orderId === orderId && (c.state === "captured" || c.state === "refunded"),
    ).length;
  }
  state(orderId: string) {
    return [...this.charges.values()].find((c) => c.orderId === orderId)?.state;
  }

  async lookup(paymentId: string): Promise<StepOutcome<PaymentView | undefined>> {
    const c = [...this.charges.values()].find((x) => x.paymentId === paymentId);
    return {
      kind: "done",
      value: c && {
        id: c.paymentId,
        orderId: c.orderId,
        state: c.state,
        amountMinor: c.amountMinor,
        currency: c.currency,
      },
    };
  }

  async charge(req: {
    orderId: string;
    cardToken: string;
    idempotencyKey: string;
    amountMinor?: bigint;
    currency?: string;
  }): Promise<StepOutcome<ChargeResult>> {
    this.calls.push(`charge ${req.orderId} ${req.cardToken}`);
    const fault = this.faults.take("charge");
    if (fault === "refuse") return { kind: "refused", reason: "payment: refused" };
    if (fault === "unavailable") return { kind: "unavailable", reason: "payment: unavailable" };
    let c = this.charges.get(req.idempotencyKey);
    if (!c) {
      const declined = this.declines.has(req.cardToken);
      c = {
        paymentId: crypto.randomUUID(),
        orderId: req.orderId,
        state: declined ? "declined" : "captured",
        reason: declined ? "card declined by issuer" : "",
        amountMinor: req.amountMinor ?? 0n,
        currency: req.currency ?? "EUR",
      };
      this.charges.set(req.idempotencyKey, c);
    }
    if (fault === "lost-answer") return { kind: "unavailable", reason: "payment: deadline exceeded" };
    return {
      kind: "done",
      value:
        c.state === "declined"
          ? { captured: false, paymentId: c.paymentId, reason: c.reason }
          : { captured: true, paymentId: c.paymentId },
    };
  }
  async refund(paymentId: string): Promise<StepOutcome> {
    this.calls.push(`refund ${paymentId}`);
    const fault = this.faults.take("refund");
    if (fault === "unavailable") return { kind: "unavailable", reason: "payment: unavailable" };
    const c = [...this.charges.values()].find((x) => x.paymentId === paymentId);
    if (!c) return { kind: "refused", reason: `payment ${paymentId} not found` };
    if (c.state === "declined") return { kind: "refused", reason: `payment ${paymentId} was declined` };
    c.state = "refunded";
    if (fault === "lost-answer") return { kind: "unavailable", reason: "payment: deadline exceeded" };
    return { kind: "done", value: undefined };
  }
}

export const everyoneExists: Customers = { exists: async () => true };

/** A whole in-memory world for the order use cases. */
export function inMemorySaga(overrides: Partial<SagaDeps> = {}) {
  const clock = new TestClock();
  const orders = new InMemoryOrders(clock);
  const inventory = new FakeInventory();
  const payments = new FakePayments();
  const deps: SagaDeps = {
    orders,
    inventory,
    payments,
    log: pino({ level: "silent" }),
    leaseMs: 5000,
    reservationTtlSeconds: 900,
    chargeTimeoutMs: 10_000,
    stepTimeoutMs: 5000,
    paymentPendingRecoveryMs: 30_000,
    maxRetryDelayMs: 10_000,
    now: clock.now,
    ...overrides,
  };
  return { deps, clock, orders, inventory, payments, customers: everyoneExists };
}

export type InMemorySaga = ReturnType<typeof inMemorySaga>;
export type { OrderState };
