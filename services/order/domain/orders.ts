import type { Order } from "../../contracts/gen/shop/order/v1/order_service_pb";

export interface OrderStore {
  get(id: string): Promise<Order | undefined>;
  /** A customer's orders, newest first, after the cursor `afterId`. */
  listByCustomer(customerId: string, afterId: string, limit: number): Promise<Order[]>;
}

/** Orders in process memory, until the Postgres store lands with the order flow. */
export class MemoryOrderStore implements OrderStore {
  readonly orders = new Map<string, Order>();

  async get(id: string) {
    return this.orders.get(id);
  }

  async listByCustomer(customerId: string, afterId: string, limit: number) {
    const mine = [...this.orders.values()].filter((o) => o.customerId === customerId).reverse();
    const start = afterId ? mine.findIndex((o) => o.id === afterId) + 1 : 0;
    return mine.slice(start, start + limit);
  }
}
