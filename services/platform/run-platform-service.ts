import { join } from "node:path";
import { version } from "../../package.json";
import type { EventStream } from "../kit/events";
import { runService, type ServiceDefinition } from "../kit";
import { callersOf } from "./communication";

const SERVICES = join(import.meta.dir, "..");

/** What a service of this platform says about itself; the rest follows from the platform. */
export interface PlatformService<S extends Record<string, unknown>> {
  name: string;
  description: string;
  ports: { http: number; grpc?: number };
  database: {
    /** Its tables (a drizzle schema), migrated from services/<name>/db/migrations at start. */
    schema: S;
    /** The streams it publishes its own events to through the outbox in these tables (from its contract file). */
    outbox?: readonly EventStream[];
  };
  build: ServiceDefinition<S>["build"];
}

/**
 * Runs one of the shop's services behind the public edge: the kit's runService with what every such service
 * shares, the platform's version, the callers the communication table lets in, and its migrations
 * where every service keeps them.
 *
 * @example
 *   await runPlatformService({ name: "customer", description: "…", ports: { http: 8084 }, database: { schema }, build });
 */
export function runPlatformService<S extends Record<string, unknown>>({
  name,
  description,
  ports,
  database: { schema, outbox },
  build,
}: PlatformService<S>): Promise<void> {
  return runService({
    name,
    version,
    description,
    callers: callersOf(name),
    ports,
    database: { schema, migrations: join(SERVICES, name, "db/migrations") },
    ...(outbox ? { outbox: { streams: outbox } } : {}),
    build,
  });
}
