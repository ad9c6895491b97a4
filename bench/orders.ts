// Part 2: the order flow, create + confirm (tok_success), at a fixed concurrency.
//   platform   REST/JSON through the gateway → order (Connect, discovered, policies) → customer (REST),
//              inventory and payment (Connect), each its own process on its own Postgres schema, the
//              outbox relays publishing to JetStream (a prefix of their own)
//   baseline   one process doing the same database writes directly: the same handlers, stores, saga and
//              outbox relays, wired with in-memory transports (createRouterTransport) and a direct customer
//              lookup: no gateway, no network, no processes. The limit of the stack for that work.
// Also samples each service's RSS idle and under the load (the memory part reuses this with notification
// and marketing running too).
// Run: bun bench/orders.ts   (BENCH_ORDERS_SECONDS, BENCH_ORDERS_CONCURRENCY)
import { createClient, createRouterTransport } from "@connectrpc/connect";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { Registry } from "prom-client";
import { InventoryService } from "../services/contracts/gen/shop/inventory/v1/inventory_service_pb";
import { OrderService, OrderStatus } from "../services/contracts/gen/shop/order/v1/order_service_pb";
import { PaymentService } from "../services/contracts/gen/shop/payment/v1/payment_service_pb";
import { DrizzleCustomerStore } from "../services/customer/db/drizzle-customer-store";
import * as customerSchema from "../services/customer/db/schema";
import { PgInventoryStore } from "../services/inventory/db/inventory-store";
import * as inventorySchema from "../services/inventory/db/schema";
import { startReservationExpiry } from "../services/inventory/jobs/expire-reservations";
import { inventoryRoutes } from "../services/inventory/rpc/inventory-service";
import { openDatabase, type OpenDatabase } from "../services/kit/db";
import {
  startEvents,
  type RunningEvents,
  EventNames,
  deleteStreams as deletePrefixStreams,
} from "../services/kit/events";
import { PLATFORM_STREAMS } from "../services/platform/communication";
import { testSchemas } from "../services/kit/testing";
import { customersPort } from "../services/order/clients/customers";
import { inventoryPort } from "../services/order/clients/inventory";
import { paymentsPort } from "../services/order/clients/payments";
import * as orderSchema from "../services/order/db/schema";
import { orderParts } from "../services/order/parts";
import type { ServiceParts } from "../services/kit";
import { paymentConfig } from "../services/payment/config";
import { DrizzlePaymentStore } from "../services/payment/db/drizzle-payment-store";
import { providerLedger } from "../services/payment/db/provider-ledger";
import * as paymentSchema from "../services/payment/db/schema";
import { simulatedProvider } from "../services/payment/domain/provider";
import { paymentRequestsConsumer } from "../services/payment/events/payment-requests";
import { countedProvider } from "../services/payment/provider-metrics";
import { paymentRoutes } from "../services/payment/rpc/payment-service";
import { natsServerPid, processCpuMs } from "./lib/cpu";
import { combine, pacedCalls, round, runLoad, type LoadResult, type Samples } from "./lib/load";
import { runId, spawnService, type BenchProcess } from "./lib/processes";
import { markdownTable, progress, ratio, writeResult } from "./lib/report";

const NATS_URL = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
const PRODUCTS = Array.from({ length: 8 }, (_, i) => `sku-bench-${i}`);
const itemsFor = (i: number) => [
  { productId: PRODUCTS[i % PRODUCTS.length]!, quantity: 1 },
  { productId: PRODUCTS[(i + 3) % PRODUCTS.length]!, quantity: 2 },
];

export interface OrdersOptions {
  part?: string;
  seconds?: number;
  concurrency?: number;
  /** Also run notification and marketing (they consume the order events), for the memory part. */
  downstream?: boolean;
  /** Orders started per second at most (0: as fast as the customers go). The memory part fixes it, as a peak grows with the orders placed. */
  ratePerSecond?: number;
  baseline?: boolean;
  /** Also run the platform with RPC_TRANSPORT=http (calls between services on HTTP/1.1), beside NATS. */
  overHttp?: boolean;
}

export interface MemoryRow {
  service: string;
  /** RSS, as the 100 MB limit counts it. */
  idleMb: number;
  loadPeakMb: number;
  /** The private part (anonymous pages); the rest is mostly the bun executable's pages, shared by every Bun process. */
  idlePrivateMb: number;
  loadPeakPrivateMb: number;
  /** CPU the service used from the start of the load to its end, per order placed (warm-up included). */
  cpuMsPerOrder: number;
}

interface PlatformRun {
  load: LoadResult;
  /** The load with its latency samples, for merging rounds. */
  run: LoadResult & { samples: Samples };
  ordersPlaced: number;
  memory: MemoryRow[];
  /** The machine's nats-server's CPU per order: it relays the calls between services on NATS, and events either way. */
  natsCpuMsPerOrder: number;
}

/** Rounds of one variant as one: their calls and samples merged, memory of the first, CPU per order over all. */
function mergeRuns(runs: PlatformRun[]): PlatformRun {
  const placed = runs.reduce((n, r) => n + r.ordersPlaced, 0);
  return {
    load: combine(runs.map((r) => r.run)),
    run: runs[0]!.run,
    ordersPlaced: placed,
    natsCpuMsPerOrder: round(runs.reduce((ms, r) => ms + r.natsCpuMsPerOrder * r.ordersPlaced, 0) / placed, 1),
    memory: runs[0]!.memory.map((m, i) => ({
      ...m,
      cpuMsPerOrder: round(runs.reduce((ms, r) => ms + r.memory[i]!.cpuMsPerOrder * r.ordersPlaced, 0) / placed, 1),
    })),
  };
}

async function deleteStreams(nc: NatsConnection, prefix: string) {
  await deletePrefixStreams(await jetstreamManager(nc), new EventNames(prefix));
}

/** The platform: five (or seven) processes, driven through the gateway's REST API. */
async function platformFlow(
  o: Required<OrdersOptions>,
  nc: NatsConnection,
  transport: "nats" | "http" = "nats",
): Promise<PlatformRun> {
  const part = o.part;
  const schemas = testSchemas();
  const prefix = runId("bord");
  const namespace = runId("benchord");
  const mailbox = mkdtempSync(join(tmpdir(), "bench-mailbox-"));
  const secrets = {
    GATEWAY_JWT_SECRET: `${crypto.randomUUID()}${crypto.randomUUID()}`,
    GATEWAY_ADMIN_API_KEY: crypto.randomUUID(),
  };
  const common = { EVENTS_PREFIX: prefix, NATS_URL, PLATFORM_NAMESPACE: namespace, RPC_TRANSPORT: transport };
  const names = [
    "customer",
    "inventory",
    "payment",
    "order",
    "gateway",
    ...(o.downstream ? ["notification", "marketing"] : []),
  ];
  const procs: BenchProcess[] = [];
  try {
    progress(part, `starting ${names.join(", ")} (namespace ${namespace}, calls between services on ${transport})`);
    // Sequentially: the first ones create the streams, and two cores start seven Bun processes slowly anyway.
    for (const name of names) {
      const env =
        name === "gateway"
          ? {
              ...secrets,
              GATEWAY_RATE_LIMIT_RPS: "1000000",
              GATEWAY_RATE_LIMIT_BURST: "1000000",
              GATEWAY_SIGNUP_BURST: "1000",
            }
          : { ...schemas.env(name), MAILBOX_DIR: mailbox };
      procs.push(await spawnService(name, { ...common, ...env }));
    }
    const gw = String(procs.find((p) => p.name === "gateway")!.ready.http);
    const call = async (method: string, path: string, body: unknown, auth: Record<string, string>) => {
      const res = await fetch(`${gw}${path}`, {
        method,
        headers: { "content-type": "application/json", ...auth },
        body: JSON.stringify(body),
      });
      const json = (await res.json()) as any;
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
      return json;
    };
    for (const id of PRODUCTS) {
      await call(
        "PUT",
        `/v1/products/${id}`,
        { name: id, price: { amountMinor: "1200", currency: "EUR" }, stock: 10_000_000 },
        { "x-api-key": secrets.GATEWAY_ADMIN_API_KEY },
      );
    }
    const tokens: string[] = [];
    for (let i = 0; i < o.concurrency; i++) {
      tokens.push(
        (
          await call(
            "POST",
            "/v1/customers",
            { email: `bench-${i}-${crypto.randomUUID()}@example.com`, name: `Bench ${i}` },
            {},
          )
        ).token,
      );
    }
    // Wait for the platform to be idle (discovery settled, relays caught up) before the idle sample.
    await Bun.sleep(2000);
    const idle = new Map(procs.map((p) => [p.name, p.memory()]));
    const peak = new Map([...idle].map(([name, m]) => [name, { ...m }]));
    const cpuAtStart = new Map(procs.map((p) => [p.name, processCpuMs(p.pid)]));
    const natsPid = natsServerPid();
    const natsCpuAtStart = natsPid ? processCpuMs(natsPid) : NaN;
    const sampler = setInterval(() => {
      for (const p of procs) {
        const now = p.memory();
        const top = peak.get(p.name)!;
        top.rssMb = Math.max(top.rssMb, now.rssMb);
        top.privateMb = Math.max(top.privateMb, now.privateMb);
      }
    }, 200);
    const paced = pacedCalls(o.ratePerSecond);
    const placeAndConfirm = async () => {
      const i = await paced.next();
      const auth = { authorization: `Bearer ${tokens[i % tokens.length]}` };
      const placed = await call("POST", "/v1/orders", { items: itemsFor(i), currency: "EUR" }, auth);
      const confirmed = await call("POST", `/v1/orders/${placed.order.id}:confirm`, { cardToken: "tok_success" }, auth);
      if (confirmed.order.status !== "ORDER_STATUS_CONFIRMED")
        throw new Error(`order ${placed.order.id} ended ${confirmed.order.status}`);
    };
    progress(
      part,
      `platform: ${o.concurrency} customers placing and confirming orders for ${o.seconds} s${o.ratePerSecond > 0 ? `, at most ${o.ratePerSecond} orders/s` : ""}`,
    );
    const res = await runLoad(placeAndConfirm, {
      concurrency: o.concurrency,
      durationMs: o.seconds * 1000,
      warmupMs: 2000,
    });
    clearInterval(sampler);
    const load = combine([res]);
    progress(
      part,
      `platform: ${load.rate} orders/s, p50 ${load.p50Ms} ms, p99 ${load.p99Ms} ms${load.errors ? `, ${load.errors} errors (${load.firstError})` : ""}`,
    );
    const memory = procs.map((p) => ({
      service: p.name,
      idleMb: idle.get(p.name)!.rssMb,
      loadPeakMb: peak.get(p.name)!.rssMb,
      idlePrivateMb: idle.get(p.name)!.privateMb,
      loadPeakPrivateMb: peak.get(p.name)!.privateMb,
      cpuMsPerOrder: round((processCpuMs(p.pid) - cpuAtStart.get(p.name)!) / Math.max(1, paced.issued), 1),
    }));
    const natsCpuMsPerOrder = natsPid
      ? round((processCpuMs(natsPid) - natsCpuAtStart) / Math.max(1, paced.issued), 1)
      : NaN;
    return { load, run: res, ordersPlaced: paced.issued, memory, natsCpuMsPerOrder };
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
    await deleteStreams(nc, prefix);
    await schemas.drop();
    rmSync(mailbox, { recursive: true, force: true });
  }
}

/** The same work in one process: the services' own handlers and stores, without the network between them. */
async function baselineFlow(o: Required<OrdersOptions>, nc: NatsConnection): Promise<LoadResult> {
  const schemas = testSchemas();
  const prefix = runId("bbas");
  const log = pino({ level: "silent" });
  const databases: OpenDatabase<any>[] = [];
  const events: (RunningEvents | undefined)[] = [];
  let expiry: { stop(): Promise<void> | void } | undefined;
  let orderService: ServiceParts | undefined;
  try {
    const open = async <S extends Record<string, unknown>>(service: string, schema: S) => {
      const env = { ...schemas.env(service), EVENTS_PREFIX: prefix, NATS_URL };
      const d = await openDatabase({
        service,
        env,
        log,
        schema,
        migrationsFolder: join(import.meta.dir, `../services/${service}/db/migrations`),
      });
      databases.push(d);
      return { d, env };
    };
    const customer = await open("customer", customerSchema);
    const inventory = await open("inventory", inventorySchema);
    const payment = await open("payment", paymentSchema);
    const order = await open("order", orderSchema);

    const customers = new DrizzleCustomerStore(customer.d.db);
    const inventoryStore = new PgInventoryStore(inventory.d.db);
    expiry = startReservationExpiry({ store: inventoryStore, everyMs: 1000, log });
    const cfg = paymentConfig({});
    const paymentDeps = {
      store: new DrizzlePaymentStore(payment.d.db),
      provider: countedProvider(simulatedProvider({ ledger: providerLedger(payment.d.db) }), new Registry()),
      providerTimeoutMs: cfg.PAYMENT_PROVIDER_TIMEOUT_MS,
      claimLeaseMs: cfg.PAYMENT_CLAIM_LEASE_MS,
      pendingWaitMs: cfg.PAYMENT_PENDING_WAIT_MS,
    };
    const inventoryClient = createClient(
      InventoryService,
      createRouterTransport(inventoryRoutes(inventoryStore, { defaultTtlSeconds: 900 })),
    );
    const remote = {
      inventory: inventoryPort(inventoryClient),
      payments: paymentsPort(createClient(PaymentService, createRouterTransport(paymentRoutes(paymentDeps, log)))),
      // The customer service's answer without its REST hop: a lookup in its store.
      customers: customersPort(
        async (path) => new Response(null, { status: (await customers.get(path.split("/").at(-1)!)) ? 200 : 404 }),
      ),
    };
    orderService = orderParts({ env: order.env, db: order.d.db, remote, log, registry: new Registry() });
    const orders = createClient(OrderService, createRouterTransport(orderService.rpc!));
    const outcomes = orderService.consumers!;
    // The relays (and consumers) each service runs, so the outbox rows are published here too.
    const run = (
      service: string,
      d: { d: OpenDatabase<any>; env: Record<string, string> },
      consumers: Parameters<typeof startEvents>[0]["consumers"],
    ) =>
      startEvents({
        service,
        namespace: "shop",
        env: d.env,
        log,
        nats: nc,
        database: d.d,
        outbox: { streams: PLATFORM_STREAMS },
        consumers,
      });
    events.push(await run("customer", customer, []));
    events.push(await run("inventory", inventory, []));
    events.push(
      await run("payment", payment, [paymentRequestsConsumer(paymentDeps, { attempts: cfg.PAYMENT_ASYNC_ATTEMPTS })]),
    );
    events.push(await run("order", order, outcomes));

    for (const id of PRODUCTS)
      await inventoryClient.upsertProduct({
        product: { id, name: id, price: { amountMinor: 1200n, currency: "EUR" }, stock: 10_000_000 },
      });
    const customerIds: string[] = [];
    for (let i = 0; i < o.concurrency; i++) {
      const c = await customers.insert({
        id: crypto.randomUUID(),
        email: `bench-${i}-${crypto.randomUUID()}@example.com`,
        name: `Bench ${i}`,
        createdAt: new Date(),
      });
      customerIds.push(c!.id);
    }
    const paced = pacedCalls(o.ratePerSecond);
    const placeAndConfirm = async () => {
      const i = await paced.next();
      const placed = await orders.createOrder({
        customerId: customerIds[i % customerIds.length]!,
        items: itemsFor(i),
        currency: "EUR",
      });
      const confirmed = await orders.confirmOrder({ orderId: placed.order!.id, cardToken: "tok_success" });
      if (confirmed.order?.status !== OrderStatus.CONFIRMED)
        throw new Error(`order ${placed.order!.id} ended ${OrderStatus[confirmed.order!.status]}`);
    };
    progress(o.part, `baseline: one process, ${o.concurrency} callers for ${o.seconds} s`);
    const load = combine([
      await runLoad(placeAndConfirm, { concurrency: o.concurrency, durationMs: o.seconds * 1000, warmupMs: 2000 }),
    ]);
    progress(
      o.part,
      `baseline: ${load.rate} orders/s, p50 ${load.p50Ms} ms, p99 ${load.p99Ms} ms${load.errors ? `, ${load.errors} errors (${load.firstError})` : ""}`,
    );
    return load;
  } finally {
    await orderService?.stop?.();
    await expiry?.stop();
    for (const e of events) await e?.stop();
    for (const d of databases) await d.close();
    await deleteStreams(nc, prefix);
    await schemas.drop();
  }
}

export async function runOrdersFlows(opts: OrdersOptions = {}) {
  const o: Required<OrdersOptions> = {
    part: opts.part ?? "orders",
    seconds: opts.seconds ?? Number(process.env.BENCH_ORDERS_SECONDS ?? 15),
    concurrency: opts.concurrency ?? Number(process.env.BENCH_ORDERS_CONCURRENCY ?? 16),
    downstream: opts.downstream ?? false,
    baseline: opts.baseline ?? true,
    ratePerSecond: opts.ratePerSecond ?? 0,
    overHttp: opts.overHttp ?? false,
  };
  const nc = await connect({ servers: NATS_URL.split(",") });
  try {
    if (!o.overHttp) {
      const platform = await platformFlow(o, nc);
      const baseline = o.baseline ? await baselineFlow(o, nc) : undefined;
      return { options: o, platform, platformHttp: undefined, baseline };
    }
    // NATS and HTTP in turns (nats, http, http, nats): neither gains from running first or last.
    const nats1 = await platformFlow(o, nc);
    const http1 = await platformFlow(o, nc, "http");
    const http2 = await platformFlow(o, nc, "http");
    const nats2 = await platformFlow(o, nc);
    const platform = mergeRuns([nats1, nats2]);
    const platformHttp = mergeRuns([http1, http2]);
    const baseline = o.baseline ? await baselineFlow(o, nc) : undefined;
    return { options: o, platform, platformHttp, baseline };
  } finally {
    await nc.close();
  }
}

export function memoryTable(memory: MemoryRow[]): string {
  return markdownTable(
    [
      "service",
      "RSS idle MB",
      "RSS peak under order load MB",
      "private idle MB",
      "private peak MB",
      "CPU ms per order",
    ],
    memory.map((m) => [m.service, m.idleMb, m.loadPeakMb, m.idlePrivateMb, m.loadPeakPrivateMb, m.cpuMsPerOrder]),
  );
}

export async function runOrdersBench(opts: OrdersOptions = {}) {
  const r = await runOrdersFlows({ overHttp: true, ...opts });
  const { platform, platformHttp, baseline, options } = r;
  const cpuMsPerOrder = (memory: MemoryRow[]) =>
    round(
      memory.reduce((n, m) => n + m.cpuMsPerOrder, 0),
      1,
    );
  const ratios = {
    platformOverBaseline: ratio(platform.load.rate, baseline!.rate),
    platformHttpOverBaseline: ratio(platformHttp!.load.rate, baseline!.rate),
    natsOverHttp: ratio(platform.load.rate, platformHttp!.load.rate),
  };
  const table = markdownTable(
    [
      `order flow (create + confirm), ${options.concurrency} concurrent customers`,
      "orders/s",
      "p50 ms",
      "p99 ms",
      "× baseline",
      "CPU ms per order (all services)",
      "+ nats-server",
    ],
    [
      [
        "platform: gateway (REST/JSON) → order → customer, inventory, payment (5 processes), calls between services on NATS",
        platform.load.rate,
        platform.load.p50Ms,
        platform.load.p99Ms,
        ratios.platformOverBaseline,
        cpuMsPerOrder(platform.memory),
        platform.natsCpuMsPerOrder,
      ],
      [
        "the same, calls between services on HTTP/1.1 (RPC_TRANSPORT=http)",
        platformHttp!.load.rate,
        platformHttp!.load.p50Ms,
        platformHttp!.load.p99Ms,
        ratios.platformHttpOverBaseline,
        cpuMsPerOrder(platformHttp!.memory),
        platformHttp!.natsCpuMsPerOrder,
      ],
      [
        "baseline: the same handlers, stores and writes in one process",
        baseline!.rate,
        baseline!.p50Ms,
        baseline!.p99Ms,
        1,
        "-",
        "-",
      ],
    ],
  );
  writeResult(
    options.part,
    {
      concurrency: options.concurrency,
      seconds: options.seconds,
      results: { platform: platform.load, platformHttp: platformHttp!.load, baseline },
      ratios,
      memory: platform.memory,
      memoryHttp: platformHttp!.memory,
    },
    `${table}\n\n${memoryTable(platform.memory)}`,
  );
  return r;
}

if (import.meta.main) await runOrdersBench();
