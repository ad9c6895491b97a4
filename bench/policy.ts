// Part 4: what the resilience stack costs. The same GetPaymentStatus call to a kit service, through
// createServiceClients (discovery, balancer, bulkhead, timeout, retry, breaker) and through the bare
// Connect send the kit uses underneath (callConnectUnary, over fetch), straight to the instance's URL; at 32 callers
// (throughput) and 1 caller (latency). Then the breaker open: how fast a refused call fails.
// Run: bun bench/policy.ts
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { connect } from "@nats-io/transport-node";
import { join } from "node:path";
import pino from "pino";
import { PaymentService } from "../services/contracts/gen/shop/payment/v1/payment_service_pb";
import { Registry } from "prom-client";
import type { DiscoveredInstance, ServiceDiscovery } from "../services/kit/discovery";
import {
  ResilientCaller,
  createResilienceMetrics,
  staticPolicies,
  ServiceUnavailableError,
} from "../services/kit/resilience";
import { callConnectUnary, createServiceClients } from "../services/kit/rpc";
import { cpuMeter } from "./lib/cpu";
import { combine, percentile, round, runLoad, Samples } from "./lib/load";
import { runId, spawnService } from "./lib/processes";
import { markdownTable, progress, ratio, writeResult } from "./lib/report";

const PART = "policy";
const NATS_URL = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
const SECONDS = Number(process.env.BENCH_POLICY_SECONDS ?? 4);
const ROUNDS = Number(process.env.BENCH_POLICY_ROUNDS ?? 2);
const FAIL_FAST_CALLS = 20_000;
const NEVER = new AbortController().signal;
const PAYMENT_ID = "0b9f7c1e-3d2a-4c5b-8e6f-7a8b9c0d1e2f";

export async function runPolicyBench() {
  const namespace = runId("benchpol");
  progress(PART, `starting a kit payment echo (namespace ${namespace})`);
  const kit = await spawnService(
    "payment",
    { PLATFORM_NAMESPACE: namespace, NATS_URL },
    join(import.meta.dir, "servers", "kit-payment.ts"),
  );
  const nc = await connect({ servers: NATS_URL.split(",") });
  const log = pino({ level: "silent" });
  // Over HTTP, as the straight variant sends: the stack's cost, not the transport's (bench/rpc.ts compares those).
  const clients = createServiceClients(nc, { namespace, log, policies: staticPolicies(), transport: "http" });
  // A second set whose breaker opens after a few failures and stays open for the measurement.
  const failing = createServiceClients(nc, {
    namespace,
    log,
    transport: "http",
    policies: staticPolicies({
      payment: {
        retry: { maxRetries: 0 },
        breaker: { minimumCalls: 5, failureRateThreshold: 0.5, halfOpenAfterMs: 600_000 },
      },
    }),
  });
  try {
    await Promise.all([clients.ready, failing.ready]);
    const withStack = clients.connect(PaymentService);
    const url = String(kit.ready.http);
    const bareSend: Transport = {
      unary: (method, signal, timeoutMs, header, input) =>
        callConnectUnary(url, method, signal ?? NEVER, timeoutMs, header, input),
      stream: () => Promise.reject(new ConnectError("unary only", Code.Unimplemented)),
    };
    const without = createClient(PaymentService, bareSend);
    const variants = [
      {
        key: "withPolicies",
        label: "kit client (discovery + cockatiel stack)",
        call: () => withStack.getPaymentStatus({ paymentId: PAYMENT_ID }),
      },
      {
        key: "withoutPolicies",
        label: "same transport, straight to the instance",
        call: () => without.getPaymentStatus({ paymentId: PAYMENT_ID }),
      },
    ];
    for (const v of variants)
      if ((await v.call()).payment?.id !== PAYMENT_ID) throw new Error(`${v.key}: wrong answer`);

    // Both paths (client and the shared server) warm before anything counts: the first variant would otherwise pay for the JIT.
    for (const v of variants) await runLoad(v.call, { concurrency: 32, durationMs: 1500 });
    const measured: Record<string, Record<string, ReturnType<typeof combine> & { cpuUsPerCall: number }>> = {};
    const cpuMs = new Map<string, number>();
    for (const concurrency of [32, 1]) {
      const rounds = new Map<string, Awaited<ReturnType<typeof runLoad>>[]>();
      for (let r = 1; r <= ROUNDS; r++) {
        for (const v of variants) {
          await runLoad(v.call, { concurrency, durationMs: 500 });
          const cpu = cpuMeter([kit.pid]);
          const res = await runLoad(v.call, { concurrency, durationMs: SECONDS * 1000 });
          const key = `c${concurrency}.${v.key}`;
          cpuMs.set(key, (cpuMs.get(key) ?? 0) + cpu());
          (rounds.get(v.key) ?? rounds.set(v.key, []).get(v.key)!).push(res);
          progress(
            PART,
            `${concurrency} caller(s), round ${r}: ${v.key} ${Math.round(res.rate)} calls/s, p50 ${res.p50Ms.toFixed(3)} ms, p99 ${res.p99Ms.toFixed(3)} ms`,
          );
        }
      }
      measured[`c${concurrency}`] = Object.fromEntries(
        variants.map((v) => {
          const r = combine(rounds.get(v.key)!);
          return [v.key, { ...r, cpuUsPerCall: Math.round((cpuMs.get(`c${concurrency}.${v.key}`)! * 1000) / r.calls) }];
        }),
      );
    }

    // Open the breaker with calls the echo fails on purpose, then time calls it refuses.
    const failingClient = failing.connect(PaymentService);
    const policy = failing.caller.target("payment").policy;
    for (let i = 0; i < 200 && policy.state !== "open"; i++)
      await failingClient.getPaymentStatus({ paymentId: `fail-${i}` }).catch(() => {});
    if (policy.state !== "open") throw new Error(`the breaker did not open (state ${policy.state})`);
    const failFast = new Samples();
    let refused = 0;
    for (let i = 0; i < FAIL_FAST_CALLS; i++) {
      const t0 = performance.now();
      try {
        await failingClient.getPaymentStatus({ paymentId: PAYMENT_ID });
      } catch (e) {
        failFast.add(performance.now() - t0);
        if (e instanceof ServiceUnavailableError && e.reason === "circuit-open") refused++;
      }
    }
    if (refused !== FAIL_FAST_CALLS)
      throw new Error(`only ${refused} of ${FAIL_FAST_CALLS} calls were refused by the open breaker`);
    const sorted = failFast.sorted();
    const breakerOpen = {
      calls: FAIL_FAST_CALLS,
      p50Ms: round(percentile(sorted, 50), 4),
      p99Ms: round(percentile(sorted, 99), 4),
      maxMs: round(sorted[sorted.length - 1]!, 3),
    };
    progress(
      PART,
      `breaker open: ${FAIL_FAST_CALLS} refusals, p50 ${breakerOpen.p50Ms} ms, p99 ${breakerOpen.p99Ms} ms`,
    );

    const stackAlone = await stackCpuPerCall();
    progress(PART, `the stack alone, in process: ${stackAlone} µs CPU per call`);

    const c32 = measured.c32!;
    const c1 = measured.c1!;
    const overhead = {
      throughputAt32: round(1 - ratio(c32.withPolicies!.rate, c32.withoutPolicies!.rate), 3),
      p50LatencyAt1Ms: round(c1.withPolicies!.p50Ms - c1.withoutPolicies!.p50Ms, 3),
      throughputAt1: round(1 - ratio(c1.withPolicies!.rate, c1.withoutPolicies!.rate), 3),
      /** CPU per call (client + server) the stack adds at 32 callers, as a share of a call without it. */
      cpuAt32: round(c32.withPolicies!.cpuUsPerCall / c32.withoutPolicies!.cpuUsPerCall - 1, 3),
      stackAloneCpuUsPerCall: stackAlone,
    };
    const rows: (string | number)[][] = [];
    for (const [c, m] of [
      ["32", c32],
      ["1", c1],
    ] as const) {
      for (const v of variants)
        rows.push([
          `${v.label}, ${c} caller(s)`,
          m[v.key]!.rate,
          m[v.key]!.p50Ms,
          m[v.key]!.p99Ms,
          m[v.key]!.cpuUsPerCall,
        ]);
    }
    rows.push([
      `breaker open: a refused call (${FAIL_FAST_CALLS} in a row)`,
      "–",
      breakerOpen.p50Ms,
      breakerOpen.p99Ms,
      "–",
    ]);
    rows.push(["the stack alone, in process (a send that answers at once)", "–", "–", "–", stackAlone]);
    const table =
      `${markdownTable(["policy overhead", "calls/s", "p50 ms", "p99 ms", "CPU µs/call"], rows)}\n\n` +
      `Throughput lost to the stack: ${round(overhead.throughputAt32 * 100, 1)}% at 32 callers, ${round(overhead.throughputAt1 * 100, 1)}% at 1 caller (p50 +${overhead.p50LatencyAt1Ms} ms); ` +
      `CPU per call +${round(overhead.cpuAt32 * 100, 1)}% at 32 callers (client + server: the stack, and the deadline the callee then keeps).`;
    writeResult(PART, { secondsPerRound: SECONDS, rounds: ROUNDS, results: measured, overhead, breakerOpen }, table);
    return { measured, overhead, breakerOpen };
  } finally {
    await clients.stop();
    await failing.stop();
    await nc.close();
    await kit.stop();
  }
}

/**
 * CPU µs per call of the policy stack itself: ResilientCaller over one known instance with a send that
 * answers at once, 32 callers, in this process. What a call pays for discovery, balancing, bulkhead,
 * timeout, retry and breaker, without any network or server in the number.
 */
function stackCpuPerCall(): Promise<number> {
  const instance = { id: "bench", name: "payment", version: "0", http: "http://127.0.0.1:1" } as DiscoveredInstance;
  const discovery = {
    namespace: "bench",
    instances: async () => [instance],
    onChange() {},
    refreshSoon() {},
  } as unknown as ServiceDiscovery;
  const caller = new ResilientCaller({
    discovery,
    policies: staticPolicies(),
    metrics: createResilienceMetrics(new Registry()),
    log: pino({ level: "silent" }),
  });
  const send = async () => PAYMENT_ID;
  const call = () => caller.call({ target: "payment", idempotent: true, send });
  return (async () => {
    await runLoad(call, { concurrency: 32, durationMs: 500 });
    const cpu = cpuMeter([]);
    const r = await runLoad(call, { concurrency: 32, durationMs: 2000 });
    return round((cpu() * 1000) / r.calls, 2);
  })();
}

if (import.meta.main) await runPolicyBench();
