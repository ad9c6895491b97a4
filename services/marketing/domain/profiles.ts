/** What marketing knows of a customer, built from events. */
export interface CustomerProfile {
  customerId: string;
  orders: number;
  spentMinor: bigint;
  currency: string;
  lastActivity: Date;
  segments: string[];
}

export interface ProfileStore {
  get(customerId: string): Promise<CustomerProfile | undefined>;
}

/** Profiles in process memory, until events and Postgres feed them. */
export class MemoryProfileStore implements ProfileStore {
  readonly profiles = new Map<string, CustomerProfile>();

  async get(customerId: string) {
    return this.profiles.get(customerId);
  }
}
