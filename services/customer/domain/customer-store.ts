import type { Customer } from "./customer";

export interface CustomerStore {
  /** Returns undefined when the e-mail is taken. */
  insert(c: Customer): Promise<Customer | undefined>;
  get(id: string): Promise<Customer | undefined>;
}

/** Customers in process memory, until the Postgres store lands. */
export class MemoryCustomerStore implements CustomerStore {
  private readonly byId = new Map<string, Customer>();
  private readonly emails = new Set<string>();

  async insert(c: Customer) {
    if (this.emails.has(c.email)) return undefined;
    this.emails.add(c.email);
    this.byId.set(c.id, c);
    return c;
  }

  async get(id: string) {
    return this.byId.get(id);
  }
}
