import { checkInvariants, type Breach } from "../../../cli/invariants";
import type { TestSchemas } from "../../../services/kit/testing";

/** Breaches of invariants 1, 2, 3 and 6 in a test's own order, inventory and payment schemas. */
export async function breachesIn(db: TestSchemas, { stuckAfterSeconds = 60 } = {}): Promise<Breach[]> {
  const { breaches } = await checkInvariants({
    order: db.sql,
    inventory: db.sql,
    payment: db.sql,
    schemas: { order: db.schema("order"), inventory: db.schema("inventory"), payment: db.schema("payment") },
    stuckAfterSeconds,
  });
  return breaches;
}
