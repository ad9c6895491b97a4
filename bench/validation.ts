// Part 7: what checking requests against their protos' rules (protovalidate) costs per call, in this
// process. For a few requests, from the cheapest (one id) to the heaviest (a charge: UUID, money, text
// with CEL rules): the rules alone (CPU µs per validate), and the kit's validate interceptor over a
// handler that answers at once (what the router's chain adds to a call). Set beside the CPU a platform RPC costs end to
// end (client + server + nats-server, bench/results/rpc.json): the budget is 5% of it.
// Run: bun bench/validation.ts
import { create, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { HealthCheckRequestSchema } from "../services/contracts/gen/health/v1/health_pb";
import { OrderService } from "../services/contracts/gen/shop/order/v1/order_service_pb";
import { PaymentService } from "../services/contracts/gen/shop/payment/v1/payment_service_pb";
import { validateInterceptor } from "../services/kit/rpc";
import { ruleViolations } from "../services/kit/validation";
import { markdownTable, progress, writeResult } from "./lib/report";

const PART = "validation";
const CALLS = Number(process.env.BENCH_VALIDATION_CALLS ?? 50_000);
const ID = "0b9f7c1e-3d2a-4c5b-8e6f-7a8b9c0d1e2f";

const interceptor = validateInterceptor();
/** What the router's chain does with a request: the interceptor over a handler that answers at once. */
const through = (schema: DescMessage, message: unknown) => {
  const next = async () => ({}) as never;
  const req = { stream: false, method: { input: schema }, message } as never;
  return () => interceptor(next)(req);
};

interface Case {
  label: string;
  schema: DescMessage;
  init: MessageInitShape<DescMessage>;
}
const charge = {
  orderId: ID,
  amount: { amountMinor: 2750n, currency: "EUR" },
  cardToken: "tok_success",
  idempotencyKey: `order-${ID}`,
};
const order = {
  customerId: ID,
  currency: "EUR",
  items: [
    { productId: "sku-mug", quantity: 2 },
    { productId: "sku-pen", quantity: 1 },
    { productId: "sku-tee", quantity: 3 },
  ],
};
const CASES: Case[] = [
  {
    label: "grpc.health.v1 Check (no rules: skipped)",
    schema: HealthCheckRequestSchema,
    init: { service: "shop.payment.v1.PaymentService" },
  },
  {
    label: "GetPaymentStatus (one id, a pattern)",
    schema: PaymentService.method.getPaymentStatus.input,
    init: { paymentId: ID },
  },
  {
    label: "CreateOrder (UUID, 3 lines, currency)",
    schema: OrderService.method.createOrder.input,
    init: order,
  },
  {
    label: "ProcessPayment (UUID, money, card token with 2 CEL rules, key)",
    schema: PaymentService.method.processPayment.input,
    init: charge,
  },
];

/** CPU µs per run of `work` (awaited when it is async), this process, after a warm-up; the best of 3 rounds. */
async function cpuUsPer(work: () => unknown, n: number, async = false): Promise<number> {
  let best = Infinity;
  for (let round = 0; round < 4; round++) {
    const before = process.cpuUsage();
    if (async) for (let i = 0; i < n; i++) await work();
    else for (let i = 0; i < n; i++) work();
    const used = process.cpuUsage(before);
    if (round > 0) best = Math.min(best, (used.user + used.system) / n); // round 0 warms up
  }
  return best;
}

function rpcCpuPerCall(): number | undefined {
  const file = join(import.meta.dir, "results", "rpc.json");
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, "utf8")).results?.platformNats?.cpuUsPerCall;
}

export async function runValidationBench() {
  const rpc = rpcCpuPerCall();
  const results: Record<string, { rulesUs: number; interceptorUs: number; share?: number }> = {};
  const rows: (string | number)[][] = [];
  for (const c of CASES) {
    const message = create(c.schema, c.init);
    if (ruleViolations(c.schema, message).length) throw new Error(`${c.label}: the bench's request breaks its rules`);
    const round2 = (x: number) => Math.round(x * 100) / 100;
    const rulesUs = round2(await cpuUsPer(() => ruleViolations(c.schema, message), CALLS));
    const interceptorUs = round2(await cpuUsPer(through(c.schema, message), CALLS, true));
    const share = rpc ? Math.round((interceptorUs / rpc) * 1000) / 10 : undefined;
    results[c.label] = { rulesUs, interceptorUs, share };
    progress(PART, `${c.label}: rules ${rulesUs} µs, through the interceptor ${interceptorUs} µs`);
    rows.push([c.label, rulesUs, interceptorUs, share !== undefined ? `${share}%` : "–"]);
  }
  const table =
    markdownTable(
      [
        "request",
        "rules alone, CPU µs",
        "through the interceptor, CPU µs",
        `share of a platform RPC (${rpc ?? "?"} µs)`,
      ],
      rows,
    ) +
    `\n\nIn this process, the best of 3 rounds of ${CALLS} per request after a warm-up round. A platform RPC over NATS costs ${rpc ?? "?"} µs ` +
    "of CPU per call, client + server + nats-server (bench/results/rpc.json); the rules run once per call, on the server.";
  writeResult(PART, { calls: CALLS, rpcCpuUsPerCall: rpc, results }, table);
  return results;
}

if (import.meta.main) await runValidationBench();
