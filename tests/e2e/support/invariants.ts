import type { JetStreamManager } from "@nats-io/jetstream";
import type postgres from "postgres";
import { checkInvariants, type Breach, type InvariantOptions } from "../../../cli/invariants";
import type { DeadLetters, EventNames } from "../../../services/kit/events";

/** A test's service schemas, all on one server. */
export interface TestServiceSchemas {
  sql: postgres.Sql;
  schema(service: string): string;
}

/**
 * checkInvariants over a test's schemas: order, inventory and payment always, the services in `also`
 * too, and the dead letters when the test's event streams are given.
 */
export function invariantsIn(
  db: TestServiceSchemas,
  {
    also = [],
    events,
    stuckAfterSeconds = 60,
  }: {
    also?: ("customer" | "notification" | "marketing")[];
    events?: { jsm: JetStreamManager; names: EventNames; deadLetters: DeadLetters };
    stuckAfterSeconds?: number;
  } = {},
) {
  const services = ["order", "inventory", "payment", ...also] as const;
  const clients = Object.fromEntries(services.map((s) => [s, db.sql]));
  const schemas = Object.fromEntries(services.map((s) => [s, db.schema(s)]));
  return checkInvariants({
    ...(clients as Pick<InvariantOptions, (typeof services)[number]>),
    schemas: schemas as InvariantOptions["schemas"],
    events,
    stuckAfterSeconds,
  });
}

/** Breaches of invariants 1, 2, 3 and 6 (4 and 5 too with `also` and `events`) in a test's own schemas. */
export async function breachesIn(
  db: TestServiceSchemas,
  options?: Parameters<typeof invariantsIn>[1],
): Promise<Breach[]> {
  return (await invariantsIn(db, options)).breaches;
}
