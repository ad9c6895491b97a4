import { and, asc, desc, eq, isNull, lte, or, sql } from "drizzle-orm";
import { type Database, fixedQuery, fixedQueryPerShape } from "../../kit/db";
import { OrderCancelled, OrderConfirmed, OrderCreated, OrderPaymentFailed } from "../contract/events";
import { PaymentRequested } from "../../payment/contract/events";
import { writeEvent } from "../../kit/events";
import type { NewOrder, OrderRepository } from "../app/ports";
import { orderMessage, STATUS_OF } from "../contract/order-message";
import { FINAL_STATES, paymentKey, type Order, type OrderLine, type OrderRecord } from "../domain/order";
import { announcement } from "../domain/order-events";
import { OrderRefusal } from "../domain/refusal";
import type { SagaChange } from "../domain/saga";
import { orderLines, orders } from "./schema";
import { transactionSpan } from "../../kit/tracing";
import type * as schema from "./schema";

type Row = typeof orders.$inferSelect;

/**
 * The statements every order runs (get, lease, saga change), built by drizzle once and prepared: see
 * fixedQuery. The ones whose shape changes per call (a customer's page) are built per call.
 */
/** The order with this id (a placeholder). */
const theOrder = eq(orders.id, sql.placeholder("id"));
/** Nobody holds the order's lease: never taken, or run out. */
const leaseFree = or(isNull(orders.leaseUntil), lte(orders.leaseUntil, sql`now()`));
/** The order, while the lease on it is the one with this token (a placeholder). */
const leaseHeld = and(theOrder, eq(orders.leaseToken, sql`${sql.placeholder("token")}::uuid`));
/** When a lease of this length (a placeholder interval) taken now runs out. */
const leaseEnd = sql`now() + ${sql.placeholder("lease")}::interval`;

const Q = {
  order: fixedQuery("order_get", (db) => db.select().from(orders).where(theOrder)),
  lines: fixedQuery("order_lines_get", (db) =>
    db
      .select()
      .from(orderLines)
      .where(eq(orderLines.orderId, sql.placeholder("id")))
      .orderBy(asc(orderLines.lineNo)),
  ),
  claim: fixedQuery("order_claim", (db) =>
    db
      .update(orders)
      .set({ leaseUntil: leaseEnd, leaseToken: sql`${sql.placeholder("token")}::uuid` })
      .where(and(theOrder, leaseFree))
      .returning(),
  ),
  release: fixedQuery("order_release", (db) =>
    db.update(orders).set({ leaseUntil: null, leaseToken: null }).where(leaseHeld),
  ),
  extend: fixedQuery("order_extend_lease", (db) =>
    db.update(orders).set({ leaseUntil: leaseEnd }).where(leaseHeld).returning({ id: orders.id }),
  ),
  before: fixedQuery("order_state_for_update", (db) =>
    db.select({ state: orders.state }).from(orders).where(theOrder).for("update"),
  ),
  due: fixedQuery("order_recovery_due", (db) =>
    db
      .select({ id: orders.id, since: orders.updatedAt })
      .from(orders)
      .where(and(sql`${orders.target} <> ''`, sql`${orders.recoverAt} <= now()`, leaseFree))
      .orderBy(asc(orders.recoverAt))
      .limit(sql.placeholder("limit")),
  ),
};

/** An order row's insert: every column a placeholder, so one statement. */
const insertOrder = fixedQuery("order_insert", (db) =>
  db
    .insert(orders)
    .values({
      id: sql.placeholder("id"),
      customerId: sql.placeholder("customerId"),
      state: "pending",
      currency: sql.placeholder("currency"),
      totalMinor: sql.placeholder("totalMinor"),
      createdAt: sql.placeholder("createdAt"),
      updatedAt: sql.placeholder("createdAt"),
    })
    .returning(),
);

/** The lines' insert, one statement per number of lines (at most 50, CreateOrderRequest's rule). */
const lineInsert = fixedQueryPerShape((n: number) =>
  fixedQuery(`order_lines_insert_${n}`, (db) =>
    db
      .insert(orderLines)
      .values(
        Array.from({ length: n }, (_, i) => ({
          orderId: sql.placeholder("orderId"),
          lineNo: sql.placeholder(`lineNo${i}`),
          productId: sql.placeholder(`productId${i}`),
          quantity: sql.placeholder(`quantity${i}`),
          unitPriceMinor: sql.placeholder(`unitPriceMinor${i}`),
        })),
      )
      .returning(),
  ),
);
function insertLines(db: Database<any>, orderId: string, lines: OrderLine[]) {
  const values: Record<string, unknown> = { orderId };
  lines.forEach((l, i) => {
    values[`lineNo${i}`] = l.lineNo;
    values[`productId${i}`] = l.productId;
    values[`quantity${i}`] = l.quantity;
    values[`unitPriceMinor${i}`] = l.unitPriceMinor;
  });
  return lineInsert(lines.length)(db, values);
}

const CHANGE_FIELDS = [
  "state",
  "target",
  "reservationId",
  "paymentId",
  "cardToken",
  "refunded",
  "stateReason",
] as const;

/**
 * A saga change's update, one statement per set of changed fields, keyed by their names joined. Every
 * change also extends the lease of its holder, sets when the recovery worker may take the order up if
 * it stays unfinished, and counts (or resets) the failed attempts.
 */
const recordChange = fixedQueryPerShape((key: string) => {
  const fields = key === "" ? [] : key.split(",");
  return fixedQuery(`order_record${fields.map((f) => `_${f}`).join("")}`, (db) =>
    db
      .update(orders)
      // drizzle takes placeholders in set() (as Params of the column, so the values still go through
      // its encoder at execute); its types only admit values.
      .set({
        ...Object.fromEntries(fields.map((f) => [f, sql.placeholder(f)])),
        updatedAt: sql`now()`,
        leaseUntil: leaseEnd,
        // The target after this change (the one set now, else the one there was): none, nothing to recover.
        recoverAt: sql`case when coalesce(${sql.placeholder("newTarget")}::text, ${orders.target}) = '' then null else now() + ${sql.placeholder("recoverIn")}::interval end`,
        attempts: sql`case when ${sql.placeholder("failed")}::boolean then ${orders.attempts} + 1 else 0 end`,
      })
      .where(leaseHeld)
      .returning(),
  );
});

/** Orders and their lines in the order service's own schema; what the saga changes, with what it announces. */
export class DrizzleOrderRepository implements OrderRepository {
  constructor(private readonly db: Database<typeof schema>) {}

  async insert(order: NewOrder): Promise<Order> {
    // The customer too, so a trace can be found by whose order it was (the console's search).
    return transactionSpan(
      "record order created",
      { "shop.order_id": order.id, "shop.customer_id": order.customerId },
      () => this.#insert(order),
    );
  }

  #insert(order: NewOrder): Promise<Order> {
    return this.db.transaction(async (tx) => {
      const [row] = await insertOrder(tx, { ...order, createdAt: new Date() });
      const lines = await insertLines(tx, order.id, order.lines);
      const stored = { ...toRecord(row!), lines };
      await writeEvent(tx, OrderCreated, { order: orderMessage(stored) }, { entityId: order.id });
      return stored;
    });
  }

  async get(id: string): Promise<Order | undefined> {
    const [row] = await Q.order(this.db, { id });
    if (!row) return undefined;
    return { ...toRecord(row), lines: await Q.lines(this.db, { id }) };
  }

  async find(id: string): Promise<OrderRecord | undefined> {
    const [row] = await Q.order(this.db, { id });
    return row && toRecord(row);
  }

  lines(id: string): Promise<OrderLine[]> {
    return Q.lines(this.db, { id });
  }

  async listByCustomer(
    customerId: string,
    after: { createdAt: Date; id: string } | undefined,
    limit: number,
  ): Promise<Order[]> {
    const rows = await this.db
      .select()
      .from(orders)
      .where(
        and(
          eq(orders.customerId, customerId),
          after
            ? sql`(${orders.createdAt}, ${orders.id}) < (${after.createdAt.toISOString()}::timestamptz, ${after.id}::uuid)`
            : undefined,
        ),
      )
      .orderBy(desc(orders.createdAt), desc(orders.id))
      .limit(limit);
    if (rows.length === 0) return [];
    const lines = await this.db
      .select()
      .from(orderLines)
      .where(sql`${orderLines.orderId} in ${rows.map((r) => r.id)}`)
      .orderBy(asc(orderLines.lineNo));
    return rows.map((r) => ({ ...toRecord(r), lines: lines.filter((l) => l.orderId === r.id) }));
  }

  async claim(id: string, leaseMs: number): Promise<{ order: OrderRecord; lease: string } | undefined> {
    const lease = crypto.randomUUID();
    const [row] = await Q.claim(this.db, { id, lease: `${leaseMs} milliseconds`, token: lease });
    return row && { order: toRecord(row), lease };
  }

  async release(id: string, lease: string): Promise<void> {
    await Q.release(this.db, { id, token: lease });
  }

  async extend(id: string, lease: string, leaseMs: number): Promise<boolean> {
    return (await Q.extend(this.db, { id, token: lease, lease: `${leaseMs} milliseconds` })).length === 1;
  }

  record(
    id: string,
    change: SagaChange,
    opts: { lease: string; leaseMs: number; recoverInMs?: number; failedAttempt?: boolean },
  ): Promise<OrderRecord> {
    const step = change.state ? `record order ${change.state.toLowerCase()}` : "record order step";
    return transactionSpan(step, { "shop.order_id": id }, () => this.#record(id, change, opts));
  }

  async #record(
    id: string,
    change: SagaChange,
    opts: { lease: string; leaseMs: number; recoverInMs?: number; failedAttempt?: boolean },
  ): Promise<OrderRecord> {
    const { requestPayment, ...fields } = change;
    const key = CHANGE_FIELDS.filter((f) => fields[f] !== undefined).join();
    const values = {
      ...fields,
      id,
      token: opts.lease,
      lease: `${opts.leaseMs} milliseconds`,
      recoverIn: `${opts.recoverInMs ?? 0} milliseconds`,
      newTarget: fields.target ?? null,
      failed: opts.failedAttempt ?? false,
    };
    const lost = () =>
      new OrderRefusal("busy", `order ${id} was taken over by another worker (its lease ran out); nothing recorded`);
    // A step between PENDING and a final state announces nothing: one statement does it, no transaction.
    if (!requestPayment && !(fields.state && FINAL_STATES.has(fields.state))) {
      const [row] = await recordChange(key)(this.db, values);
      if (!row) throw lost();
      return toRecord(row);
    }
    return this.db.transaction(async (tx) => {
      const [before] = await Q.before(tx, { id });
      if (!before) throw new Error(`order ${id} vanished while its saga ran`);
      const [row] = await recordChange(key)(tx, values);
      if (!row) throw lost();
      const after = toRecord(row);
      const news = announcement(before.state, after);
      if (news) {
        const order = orderMessage({ ...after, lines: await Q.lines(tx, { id }) });
        const opts = { entityId: id };
        if (news.kind === "confirmed") await writeEvent(tx, OrderConfirmed, { order }, opts);
        else if (news.kind === "payment_failed")
          await writeEvent(tx, OrderPaymentFailed, { order, reason: news.reason }, opts);
        else if (news.kind === "cancelled")
          await writeEvent(
            tx,
            OrderCancelled,
            {
              order,
              reason: news.reason,
              refunded: news.refunded ? order.total : undefined,
              previousStatus: STATUS_OF[news.previousState],
            },
            opts,
          );
      }
      if (requestPayment) {
        await writeEvent(
          tx,
          PaymentRequested,
          {
            orderId: id,
            amount: { amountMinor: after.totalMinor, currency: after.currency },
            cardToken: after.cardToken,
            idempotencyKey: paymentKey(id),
          },
          { entityId: id },
        );
      }
      return after;
    });
  }

  async due(limit: number): Promise<{ id: string; since: Date }[]> {
    return Q.due(this.db, { limit });
  }
}

function toRecord(row: Row): OrderRecord {
  const { leaseUntil: _lease, leaseToken: _token, recoverAt: _recover, ...record } = row;
  return record;
}
