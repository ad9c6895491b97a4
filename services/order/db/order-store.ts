import { and, asc, desc, eq, isNull, lt, or, sql } from "drizzle-orm";
import type { Database } from "../../kit/db/database";
import { writeOrderEvent } from "./order-events";
import { orderLines, orders, type OrderState } from "./schema";
import type * as schema from "./schema";

export type OrderRow = typeof orders.$inferSelect;
export type OrderLineRow = typeof orderLines.$inferSelect;
export interface StoredOrder extends OrderRow {
  lines: OrderLineRow[];
}

/** Orders and their lines in the order service's own schema. */
export class OrderStore {
  constructor(private readonly db: Database<typeof schema>) {}

  async insert(order: Omit<OrderRow, "leaseUntil">, lines: Omit<OrderLineRow, "orderId">[]): Promise<StoredOrder> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx.insert(orders).values(order).returning();
      const stored = await tx
        .insert(orderLines)
        .values(lines.map((l) => ({ ...l, orderId: order.id })))
        .returning();
      await writeOrderEvent(tx, undefined, row!, stored);
      return { ...row!, lines: stored };
    });
  }

  async get(id: string): Promise<StoredOrder | undefined> {
    const [row] = await this.db.select().from(orders).where(eq(orders.id, id));
    if (!row) return undefined;
    const lines = await this.db.select().from(orderLines).where(eq(orderLines.orderId, id)).orderBy(asc(orderLines.lineNo));
    return { ...row, lines };
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
    const [row] = await this.db
      .update(orders)
      .set({ leaseUntil: sql`now() + ${`${ms} milliseconds`}::interval` })
      .where(and(eq(orders.id, id), or(isNull(orders.leaseUntil), lt(orders.leaseUntil, sql`now()`))))
      .returning();
    return row;
  }

  async release(id: string): Promise<void> {
    await this.db.update(orders).set({ leaseUntil: null }).where(eq(orders.id, id));
  }

  /**
   * Moves the order to `state` (with what came with it), for the lease holder; its event commits with
   * it, and so does whatever `alsoInTx` writes (a command for another service, say).
   */
  async transition(
    id: string,
    state: OrderState,
    patch: { reservationId?: string; paymentId?: string; stateReason?: string } = {},
    alsoInTx?: (tx: Database<typeof schema>) => Promise<unknown>,
  ): Promise<OrderRow> {
    return this.db.transaction(async (tx) => {
      await alsoInTx?.(tx);
      const [before] = await tx.select({ state: orders.state }).from(orders).where(eq(orders.id, id)).for("update");
      const [row] = await tx
        .update(orders)
        .set({ state, ...patch, updatedAt: new Date() })
        .where(eq(orders.id, id))
        .returning();
      if (row && before) await writeOrderEvent(tx, before.state, row, () => tx.select().from(orderLines).where(eq(orderLines.orderId, id)).orderBy(asc(orderLines.lineNo)));
      return row!;
    });
  }
}
