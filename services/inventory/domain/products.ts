export interface ProductRecord {
  id: string;
  name: string;
  priceMinor: bigint;
  currency: string;
  stock: number;
  reserved: number;
}

export interface ProductStore {
  upsert(p: Omit<ProductRecord, "reserved">): Promise<ProductRecord>;
  get(id: string): Promise<ProductRecord | undefined>;
  getMany(ids: string[]): Promise<Map<string, ProductRecord>>;
  /** Products ordered by id, starting after `afterId`. */
  list(afterId: string, limit: number): Promise<ProductRecord[]>;
}

export const available = (p: ProductRecord) => Math.max(0, p.stock - p.reserved);

/** Products in process memory, until the Postgres store lands. */
export class MemoryProductStore implements ProductStore {
  private readonly byId = new Map<string, ProductRecord>();

  async upsert(p: Omit<ProductRecord, "reserved">) {
    const record = { ...p, reserved: this.byId.get(p.id)?.reserved ?? 0 };
    this.byId.set(p.id, record);
    return record;
  }

  async get(id: string) {
    return this.byId.get(id);
  }

  async getMany(ids: string[]) {
    return new Map(ids.flatMap((id) => (this.byId.has(id) ? [[id, this.byId.get(id)!] as const] : [])));
  }

  async list(afterId: string, limit: number) {
    return [...this.byId.values()].filter((p) => p.id > afterId).sort((a, b) => a.id.localeCompare(b.id)).slice(0, limit);
  }
}
