// The order flow's four services as real processes, for fault tests: a platform that can have a
// service killed and restarted, a load of orders placed and confirmed by concurrent clients (found
// through NATS, as any service finds another), and the wait for every saga to end.
import { createClient, type Client } from "@connectrpc/connect";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import postgres from "postgres";
import { Registry } from "prom-client";
import { InventoryService } from "../../../services/contracts/gen/shop/inventory/v1/inventory_service_pb";
import { OrderService } from "../../../services/contracts/gen/shop/order/v1/order_service_pb";
import { createLogger } from "../../../services/kit";
import { staticPolicies } from "../../../services/kit/resilience";
import { createServiceClients, type ServiceClients } from "../../../services/kit/rpc";
import { startServiceProcess, waitFor, type ServiceProcess } from "../../../services/kit/testing";

export const FLOW_SERVICES = ["customer", "inventory", "payment", "order"] as const;

export interface FaultPlatform {
  /** The PLATFORM_NAMESPACE its services register in. */
  readonly namespace: string;
  readonly procs: Map<string, ServiceProcess>;
  readonly orders: Client<typeof OrderService>;
  readonly inventory: Client<typeof InventoryService>;
  readonly clients: ServiceClients;
  /** Starts (another instance of) a service with the platform's environment. */
  start(name: string, env?: Record<string, string>): Promise<ServiceProcess>;
  /** kill -9 of a service's process, or of one instance (as the test's own fault, not counted as a crash). */
  kill(which: string | ServiceProcess): Promise<void>;
  /** Exit codes of processes that ended without being asked to (a crash is a failure of the test). */
  readonly unexpectedExits: { name: string; code: number | null; stderr: string }[];
  /** Seeds customers and products, then places and confirms orders as orderLoad does. */
  orderLoad(options: LoadOptions): Promise<LoadReport>;
  /** Orders whose saga is not over: a target set, or a state between PENDING and a final one. */
  unfinishedOrders(): Promise<{ id: string; state: string; target: string }[]>;
  /** Waits until every saga is over; resolves with how long that took. */
  sagasFinish(options: { timeoutMs: number }): Promise<number>;
  /** Payments and orders, counted the way the figures count them. */
  moneyCounts(): Promise<MoneyCounts>;
  stop(): Promise<void>;
}

/** Where the platform's services keep their tables: one server, a schema per service. */
export interface FaultDatabase {
  sql: postgres.Sql;
  schema(service: string): string;
}

/**
 * Starts customer, inventory, payment and order in a namespace of their own with `env` (their
 * databases, NATS, events prefix, test knobs), and clients for the test that find them through NATS;
 * `database` is where the services' tables are (their schemas on one server), for the sagas and the money.
 */
export async function startFaultPlatform({
  env,
  envFor = () => ({}),
  natsUrl,
  database: { sql, schema },
}: {
  env: Record<string, string>;
  envFor?: (name: string) => Record<string, string>;
  natsUrl: string;
  database: FaultDatabase;
}): Promise<FaultPlatform> {
  const namespace = `fault${crypto.randomUUID().slice(0, 8)}`;
  const procs = new Map<string, ServiceProcess>();
  const stopping = new Set<ServiceProcess>();
  const unexpectedExits: { name: string; code: number | null; stderr: string }[] = [];
  const start = async (name: string, extra: Record<string, string> = {}) => {
    const p = await startServiceProcess(name, {
      env: { ...env, ...envFor(name), PLATFORM_NAMESPACE: namespace, NATS_URL: natsUrl, ...extra },
      timeoutMs: 30_000,
    });
    p.proc.exited.then((code) => {
      if (!stopping.has(p)) unexpectedExits.push({ name, code, stderr: p.stderr().slice(-2000) });
    });
    const stop = p.stop.bind(p);
    (p as { stop: ServiceProcess["stop"] }).stop = (signal) => (stopping.add(p), stop(signal));
    procs.set(name, p);
    return p;
  };
  // Payment first: its migrations then run once; then the rest side by side.
  await start("payment");
  await Promise.all(["customer", "inventory", "order"].map((n) => start(n)));
  // NATS_URL may name several servers (a cluster), comma separated, as the kit reads it.
  const nc: NatsConnection = await connect({
    servers: natsUrl.split(","),
    maxReconnectAttempts: -1,
    reconnectTimeWait: 200,
  });
  const clients = createServiceClients(nc, {
    namespace,
    log: createLogger("fault-test", "silent"),
    registry: new Registry(),
    policies: staticPolicies(),
  });
  const platform: FaultPlatform = {
    namespace,
    procs,
    clients,
    orders: clients.connect(OrderService),
    inventory: clients.connect(InventoryService),
    start,
    async kill(which) {
      const p = typeof which === "string" ? procs.get(which)! : which;
      stopping.add(p);
      p.proc.kill("SIGKILL");
      await p.proc.exited;
    },
    unexpectedExits,
    orderLoad: async (options) => orderLoad(platform, await seed(platform), options),
    unfinishedOrders: () => unfinishedOrders(sql, schema("order")),
    sagasFinish: (options) => sagasFinish(sql, schema("order"), options),
    moneyCounts: () => moneyCounts(sql, { order: schema("order"), payment: schema("payment") }),
    async stop() {
      await Promise.all([...procs.values()].map((p) => p.stop()));
      await clients.stop();
      await nc.close();
    },
  };
  return platform;
}

/** Customers (through the customer service's REST API) and products with plenty of stock. */
async function seed(platform: FaultPlatform, { customers = 8, products = ["sku-a", "sku-b", "sku-c"] } = {}) {
  const ids: string[] = [];
  const customer = platform.procs.get("customer")!.http;
  for (let i = 0; i < customers; i++) {
    const res = await fetch(`${customer}/v1/customers`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: `fault-${i}-${crypto.randomUUID()}@example.com`, name: `Fault ${i}` }),
    });
    ids.push(((await res.json()) as { id: string }).id);
  }
  for (const id of products)
    await platform.inventory.upsertProduct({
      product: { id, name: id, price: { amountMinor: 1500n, currency: "EUR" }, stock: 1_000_000 },
    });
  return { customerIds: ids, products };
}

export interface LoadReport {
  /** Orders created (their ids), how each confirm answered (an order status, or an error code), and the failed attempts to place one. */
  placed: string[];
  /** When each was placed (epoch ms). */
  placedAt: number[];
  confirmAnswers: Record<string, number>;
  createErrors: Record<string, number>;
}

export interface LoadOptions {
  total: number;
  concurrency?: number;
  during?: (progress: () => number, sofar: LoadReport) => Promise<void>;
  paceMs?: number;
  untilDuringEnds?: boolean;
}

/**
 * `total` orders, each created then confirmed once (no client retry), by `concurrency` clients; mostly
 * tok_success, some tok_declined. `during` runs alongside (the fault), and the load waits for it; with
 * `untilDuringEnds` the clients stop placing orders once it ended (`total` is then a cap).
 */
async function orderLoad(
  platform: FaultPlatform,
  { customerIds, products }: { customerIds: string[]; products: string[] },
  { total, concurrency = 16, during, paceMs = 0, untilDuringEnds = false }: LoadOptions,
): Promise<LoadReport> {
  const report: LoadReport = { placed: [], placedAt: [], confirmAnswers: {}, createErrors: {} };
  let next = 0;
  let done = 0;
  const count = (m: Record<string, number>, k: string) => (m[k] = (m[k] ?? 0) + 1);
  let duringEnded = false;
  const client = async () => {
    for (let i = next++; i < total && !(untilDuringEnds && duringEnded); i = next++) {
      const token = i % 10 === 9 ? "tok_declined" : "tok_success";
      let orderId: string | undefined;
      // Placing is asked again while the platform cannot take orders (a customer would): it is the
      // confirms that must finish without anyone asking twice.
      for (const giveUpAt = Date.now() + 30_000; !orderId && Date.now() < giveUpAt;) {
        try {
          const { order } = await platform.orders.createOrder(
            {
              customerId: customerIds[i % customerIds.length]!,
              currency: "EUR",
              items: [{ productId: products[i % products.length]!, quantity: 1 + (i % 3) }],
            },
            { timeoutMs: 15_000 },
          );
          orderId = order!.id;
          report.placed.push(orderId);
          report.placedAt.push(Date.now());
        } catch (e) {
          count(report.createErrors, errorName(e));
          await Bun.sleep(250);
        }
      }
      if (!orderId) {
        done++;
        continue;
      }
      try {
        const { order } = await platform.orders.confirmOrder({ orderId, cardToken: token }, { timeoutMs: 15_000 });
        count(report.confirmAnswers, String(order!.status));
      } catch (e) {
        count(report.confirmAnswers, errorName(e));
      }
      done++;
      if (paceMs) await Bun.sleep(paceMs);
    }
  };
  await Promise.all([
    ...Array.from({ length: concurrency }, client),
    during?.(() => done, report).finally(() => (duringEnded = true)),
  ]);
  return report;
}

function errorName(e: unknown): string {
  const code = (e as { code?: unknown }).code;
  return typeof code === "number" ? `error ${code}` : e instanceof Error ? e.name : "error";
}

async function unfinishedOrders(
  sql: postgres.Sql,
  schema: string,
): Promise<{ id: string; state: string; target: string }[]> {
  return [
    ...(await sql.unsafe(
      `select id::text, state, target, attempts, lease_until, recover_at, now() as now, state_reason from "${schema}".orders where target <> '' or state in ('reserving', 'reserved', 'paid', 'payment_pending')`,
    )),
  ] as never;
}

async function sagasFinish(sql: postgres.Sql, schema: string, { timeoutMs }: { timeoutMs: number }): Promise<number> {
  const t0 = Date.now();
  await waitFor(async () => (await unfinishedOrders(sql, schema)).length === 0, {
    timeoutMs,
    intervalMs: 200,
    what: `every order saga to end (${schema})`,
  }).catch(async (e) => {
    throw new Error(
      `${e.message}; still unfinished: ${JSON.stringify((await unfinishedOrders(sql, schema)).slice(0, 10))}`,
    );
  });
  return Date.now() - t0;
}

export interface MoneyCounts {
  confirmed: number;
  captured: number;
  refunded: number;
  refundedOrders: number;
  providerCaptures: number;
  capturedRows: number;
}

async function moneyCounts(sql: postgres.Sql, schemas: { order: string; payment: string }): Promise<MoneyCounts> {
  const [row] = await sql.unsafe<MoneyCounts[]>(`
    select (select count(*) from "${schemas.order}".orders where state = 'confirmed')::int as confirmed,
           (select count(*) from "${schemas.payment}".payments where state = 'captured')::int as captured,
           (select count(*) from "${schemas.payment}".payments where state = 'refunded')::int as refunded,
           (select count(*) from "${schemas.order}".orders where state = 'cancelled' and refunded)::int as "refundedOrders",
           (select count(*) from "${schemas.payment}".provider_charges where outcome = 'captured')::int as "providerCaptures",
           (select count(*) from "${schemas.payment}".payments where state in ('captured', 'refunded'))::int as "capturedRows"`);
  return row!;
}
