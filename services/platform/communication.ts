import { CUSTOMERS } from "../customer/contract/events";
import { INVENTORY } from "../inventory/contract/events";
import type { EventStream } from "../kit/events";
import { ORDERS } from "../order/contract/events";
import { PAYMENTS } from "../payment/contract/events";

/** The platform's event streams, each declared in its producer's contract file. */
export const PLATFORM_STREAMS: readonly EventStream[] = [ORDERS, PAYMENTS, INVENTORY, CUSTOMERS];

/**
 * Who talks to whom on this platform: DESIGN.md's communication matrix as data. NATS identities and
 * their permissions (cli/identities.ts), and which callers a service's HTTP and gRPC ports accept,
 * are generated from this one table; `platform/communication.test.ts` holds it to what the services'
 * code actually publishes, consumes and calls.
 */
export interface ServiceRole {
  /** Event subjects it publishes (unprefixed; a trailing `>` covers a domain). */
  publishes: string[];
  /** Its durable consumers: the stream each reads. */
  consumes: { stream: EventStream; consumer: string }[];
  /** The services it calls (RPC or REST). */
  calls: string[];
  /** Lists every instance of every service (the gateway's admin view, GET /v1/services), calling none of them. */
  lists?: boolean;
  /** Watches the streams' consumers and reads the dead letters, changing nothing (the console). */
  observes?: boolean;
}

export const PLATFORM: Record<string, ServiceRole> = {
  gateway: { publishes: [], consumes: [], calls: ["order", "inventory", "customer"], lists: true },
  order: {
    // Its own events, and the one command it sends payment: charge asynchronously.
    publishes: ["orders.>", "payments.requested"],
    consumes: [{ stream: PAYMENTS, consumer: "order-payment-outcomes" }],
    calls: ["inventory", "payment", "customer"],
  },
  payment: {
    publishes: ["payments.processed", "payments.failed", "payments.refunded"],
    consumes: [{ stream: PAYMENTS, consumer: "payment-requests" }],
    calls: [],
  },
  inventory: { publishes: ["inventory.>"], consumes: [], calls: [] },
  customer: { publishes: ["customers.>"], consumes: [], calls: [] },
  notification: {
    publishes: [],
    consumes: [
      { stream: ORDERS, consumer: "notification-order-emails" },
      { stream: CUSTOMERS, consumer: "notification-customers" },
    ],
    calls: ["customer"],
  },
  marketing: {
    publishes: [],
    consumes: [
      { stream: ORDERS, consumer: "marketing-order-profiles" },
      { stream: CUSTOMERS, consumer: "marketing-customer-profiles" },
    ],
    calls: [],
  },
  // Reads only: instances, /metrics, policies, streams, consumers, dead letters. Its edits and replays
  // go through the operator's own connection (CONSOLE_OPERATOR_SEED_FILE), never its identity.
  console: { publishes: [], consumes: [], calls: [], lists: true, observes: true },
};

/** Every durable event consumer of the platform: what the operator provisions (bun run cli streams). */
export const PLATFORM_CONSUMERS = Object.values(PLATFORM).flatMap((role) => role.consumes);

/** The services a caller may call, and who may call a service: the operator may call anything. */
export const OPERATOR = "operator";

export function callersOf(service: string): string[] {
  return [
    OPERATOR,
    ...Object.entries(PLATFORM)
      .filter(([, role]) => role.calls.includes(service))
      .map(([name]) => name),
  ];
}

/**
 * The table as the README shows it (a test keeps the README's copy true): what each identity may
 * publish, which durable consumers it runs, and whom it may call.
 */
export function communicationMarkdown(): string {
  const rows = Object.entries(PLATFORM).map(([name, r]) => {
    const callers = callersOf(name).filter((c) => c !== OPERATOR);
    const cell = (xs: string[]) => (xs.length ? xs.map((x) => `\`${x}\``).join(", ") : "–");
    return `| ${name} | ${cell(r.publishes)} | ${cell(r.consumes.map((c) => `${c.consumer} (${c.stream.name})`))} | ${cell(r.calls)} | ${cell(callers)} |`;
  });
  return [
    "| identity | publishes | consumes (durable, stream) | calls | may be called by (besides the operator) |",
    "| --- | --- | --- | --- | --- |",
    ...rows,
    "| operator | anything | anything | any service | – |",
  ].join("\n");
}
