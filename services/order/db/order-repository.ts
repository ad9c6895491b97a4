import { and, asc, desc, eq, isNull, lt, or, sql } from "drizzle-orm";
import type { Database } from "../../kit/db/database";
import { fixedQuery, fixedQueryPerShape } from "../../kit/db/fixed-query";
import { writeOrderEvent } from "./order-events";
import { orderLines, orders, type OrderState } from "./schema";
import type * as schema from "./schema";

export type OrderRow = typeof orders.$inferSelect;
export type OrderLineRow = typeof orderLines.$inferSelect;
export interface StoredOrder extends OrderRow {
  lines: OrderLineRow[];
}

/**
 * The statements every order runs (get, lease, state change), built by drizzle once and prepared: see
 * fixedQuery. The ones whose shape changes per call (the insert's lines, a customer's page) are built
 * per call.
 */
const Q = {
  order: fixedQuery("order_get", (db) => db.select().from(orders).where(eq(orders.id, sql.placeholder("id")))),
  lines: fixedQuery("order_lines_get", (db) =>
    db.select().from(orderLines).where(eq(orderLines.orderId, sql.placeholder("id"))).orderBy(asc(orderLines.lineNo)),
  ),
  claim: fixedQuery("order_claim", (db) =>
    db
      .update(orders)
      .set({ leaseUntil: sql`now() + ${sql.placeholder("lease")}::interval` })
      .where(and(eq(orders.id, sql.placeholder("id")), or(isNull(orders.leaseUntil), lt(orders.leaseUntil, sql`now()`))))
      .returning(),
  ),
  release: fixedQuery("order_release", (db) => db.update(orders).set({ leaseUntil: null }).where(eq(orders.id, sql.placeholder("id")))),
  state: fixedQuery("order_state", (db) => db.select({ state: orders.state }).from(orders).where(eq(orders.id, sql.placeholder("id")))),
  stateForUpdate: fixedQuery("order_state_for_update", (db) =>
    db.select({ state: orders.state }).from(orders).where(eq(orders.id, sql.placeholder("id"))).for("update"),
  ),
};

type Patch = { reservationId?: string; paymentId?: string; stateReason?: string };
const PATCH_FIELDS = ["reservationId", "paymentId", "stateReason"] as const;

/** An order row's insert: every column a placeholder, so one statement. */
const insertOrder = fixedQuery("order_insert", (db) =>
  db
    .insert(orders)
    .values({
      id: sql.placeholder("id"),
      customerId: sql.placeholder("customerId"),
      state: sql.placeholder("state"),
      currency: sql.placeholder("currency"),
      totalMinor: sql.placeholder("totalMinor"),
      reservationId: sql.placeholder("reservationId"),
      paymentId: sql.placeholder("paymentId"),
      stateReason: sql.placeholder("stateReason"),
      createdAt: sql.placeholder("createdAt"),
      updatedAt: sql.placeholder("updatedAt"),
    })
    .returning(),
);

/** The lines' insert, one statement per number of lines (at most MAX_LINES). */
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
function insertLines(db: Database<any>, orderId: string, lines: Omit<OrderLineRow, "orderId">[]) {
  const values: Record<string, unknown> = { orderId };
  lines.forEach((l, i) => {
    values[`lineNo${i}`] = l.lineNo;
    values[`productId${i}`] = l.productId;
    values[`quantity${i}`] = l.quantity;
    values[`unitPriceMinor${i}`] = l.unitPriceMinor;
  });
  return lineInsert(lines.length)(db, values);
}

/** The state change's update, one per set of patched fields (at most 8), keyed by their names joined. */
const transition = fixedQueryPerShape((key: string) => {
  const fields = key === "" ? [] : key.split(",");
  return fixedQuery(`order_transition${fields.map((f) => `_${f}`).join("")}`, (db) =>
    db
      .update(orders)
      // drizzle takes placeholders in set() (as Params of the column, so the values still go through
      // its encoder at execute); its types only admit values.
      .set({
        state: sql.placeholder("state") as unknown as OrderState,
        updatedAt: sql.placeholder("updatedAt") as unknown as Date,
        ...Object.fromEntries(fields.map((f) => [f, sql.placeholder(f)])),
      })
      .where(eq(orders.id, sql.placeholder("id")))
      .returning(),
  );
});
const transitionFor = (patch: Patch) => transition(PATCH_FIELDS.filter((f) => patch[f] !== undefined).join());

/** Orders and their lines in the order service's own schema. */
export class OrderStore {
  constructor(private readonly db: Database<typeof schema>) {}

  async insert(order: Omit<OrderRow, "leaseUntil">, lines: Omit<OrderLineRow, "orderId">[]): Promise<StoredOrder> {
    return this.db.transaction(async (tx) => {
      const [row] = await insertOrder(tx, order);
      const stored = await insertLines(tx, order.id, lines);
      await writeOrderEvent(tx, undefined, row!, stored);
      return { ...row!, lines: stored };
    });
  }

  async get(id: string): Promise<StoredOrder | undefined> {
    const [row] = await Q.order(this.db, { id });
    if (!row) return undefined;
    const lines = await Q.lines(this.db, { id });
    return { ...row, lines };
  }

  /** The order's lines, in line order. */
  lines(id: string): Promise<OrderLineRow[]> {
    return Q.lines(this.db, { id });
  }

  /** Just the order's state (undefined when there is no such order). */
  async state(id: string): Promise<OrderState | undefined> {
    const [row] = await Q.state(this.db, { id });
    return row?.state;
  }

  /** A customer's orders, newest first, strictly after the keyset cursor. */
  async listByCustomer(customerId: string, after: { createdAt: Date; id: string } | undefined, limit: number): Promise<StoredOrder[]> {
    const rows = await this.db
      .select()
      .from(orders)
      .where(
        and(
          eq(orders.customerId, customerId),
          after ? sql`(${orders.createdAt}, ${orders.id}) < (${after.createdAt.toISOString()}::timestamptz, ${after.id}::uuid)` : undefined,
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
    return rows.map((r) => ({ ...r, lines: lines.filter((l) => l.orderId === r.id) }));
  }

  /**
   * Takes the order's lease for `ms`: one saga step at a time per order, across replicas. Undefined when
   * someone else holds it. A crashed holder's lease simply runs out.
   */
  async claim(id: string, ms: number): Promise<OrderRow | undefined> {
    const [row] = await Q.claim(this.db, { id, lease: `${ms} milliseconds` });
    return row;
  }

  async release(id: string): Promise<void> {
    await Q.release(this.db, { id });
  }

  /**
   * Moves the order to `state` (with what came with it), for the lease holder; its event commits with
   * it, and so does whatever `alsoInTx` writes (a command for another service, say).
   */
  async transition(
    id: string,
    state: OrderState,
    patch: Patch = {},
    alsoInTx?: (tx: Database<typeof schema>) => Promise<unknown>,
  ): Promise<OrderRow> {
    return this.db.transaction(async (tx) => {
      await alsoInTx?.(tx);
      const [before] = await Q.stateForUpdate(tx, { id });
      const [row] = await transitionFor(patch)(tx, { ...patch, id, state, updatedAt: new Date() });
      if (row && before) await writeOrderEvent(tx, before.state, row, () => Q.lines(tx, { id }));
      return row!;
    });
  }
}
