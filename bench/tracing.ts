// Part 6: what tracing costs per RPC call. The kit client (this process) calls a kit payment echo over
// NATS, with tracing off, on with head sampling at ratio 0 (every trace sampled out: the spans are made
// but not recorded or exported), and on at ratio 1 (every span exported over OTLP/HTTP protobuf to a sink
// in a process of its own). Client and server trace alike; variants take turns (off, 0, 1, 1, 0, off) and
// the CPU per call of client + server is compared with tracing off.
// Run: bun bench/tracing.ts
import { connect } from "@nats-io/transport-node";
import { join } from "node:path";
import pino from "pino";
import { PaymentService } from "../services/contracts/gen/shop/payment/v1/payment_service_pb";
import { createServiceClients, type ServiceClients } from "../services/kit/rpc";
import { staticPolicies } from "../services/kit/resilience";
import { startTracing, type Tracing } from "../services/kit/tracing";
import { cpuMeterByProcess } from "./lib/cpu";
import { combine, round, runLoad } from "./lib/load";
import { runId, spawnProcess, spawnService, type BenchProcess } from "./lib/processes";
import { markdownTable, progress, writeResult } from "./lib/report";

const PART = "tracing";
const NATS_URL = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
const SECONDS = Number(process.env.BENCH_TRACING_SECONDS ?? 4);
const ROUNDS = Number(process.env.BENCH_TRACING_ROUNDS ?? 2);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const PAYMENT_ID = "0b9f7c1e-3d2a-4c5b-8e6f-7a8b9c0d1e2f";

interface Variant {
  key: "off" | "ratio0" | "ratio1";
  label: string;
  /** The OTEL_* variables of client and server. */
  env: Record<string, string>;
}

export async function runTracingBench() {
  progress(PART, "starting the OTLP sink");
  const sink = await spawnProcess("otlp-sink", join(import.meta.dir, "servers", "otlp-sink.ts"), {
    isReady: (l) => l.ready === true,
  });
  const sinkUrl = String(sink.ready.url);
  const traced = (sampler: string, arg: string) => ({
    OTEL_EXPORTER_OTLP_ENDPOINT: sinkUrl,
    OTEL_TRACES_SAMPLER: sampler,
    OTEL_TRACES_SAMPLER_ARG: arg,
  });
  const variants: Variant[] = [
    { key: "off", label: "tracing off (no OTEL_EXPORTER_OTLP_ENDPOINT)", env: {} },
    {
      key: "ratio0",
      label: "on, sampled out (parentbased_traceidratio 0)",
      env: traced("parentbased_traceidratio", "0"),
    },
    {
      key: "ratio1",
      label: "on, every span exported (parentbased_always_on)",
      env: traced("parentbased_always_on", "1"),
    },
  ];
  const nc = await connect({ servers: NATS_URL.split(",") });
  const log = pino({ level: "silent" });
  // One echo per variant, each in its own namespace, traced as the variant says.
  const servers = new Map<Variant["key"], BenchProcess>();
  const clients = new Map<Variant["key"], ServiceClients>();
  try {
    for (const v of variants) {
      const namespace = runId(`benchtr${v.key}`);
      progress(PART, `starting a kit payment echo, ${v.key} (namespace ${namespace})`);
      servers.set(
        v.key,
        await spawnService(
          "payment",
          { PLATFORM_NAMESPACE: namespace, NATS_URL, ...v.env },
          join(import.meta.dir, "servers", "kit-payment.ts"),
        ),
      );
      const set = createServiceClients(nc, { namespace, log, policies: staticPolicies() });
      await set.ready;
      clients.set(v.key, set);
    }
    /** The variant's load with this process tracing as its server does. */
    const inTurn = async (v: Variant, fn: () => Promise<void>) => {
      let tracing: Tracing | undefined;
      if (v.key !== "off")
        tracing = startTracing({ service: "bench-client", version: "0", instanceId: "bench", env: v.env, log });
      try {
        await fn();
      } finally {
        await tracing?.stop();
      }
    };
    const call = (v: Variant) => {
      const client = clients.get(v.key)!.connect(PaymentService);
      return () => client.getPaymentStatus({ paymentId: PAYMENT_ID });
    };
    for (const v of variants)
      await inTurn(v, async () => {
        if ((await call(v)()).payment?.id !== PAYMENT_ID) throw new Error(`${v.key}: wrong answer`);
        await runLoad(call(v), { concurrency: CONCURRENCY, durationMs: 1500 });
      });

    const rounds = new Map<string, Awaited<ReturnType<typeof runLoad>>[]>();
    const cpu = new Map<string, { client: number; server: number }>();
    const order = [...variants, ...[...variants].reverse()];
    for (let r = 1; r <= ROUNDS; r++)
      for (const v of order)
        await inTurn(v, async () => {
          await runLoad(call(v), { concurrency: CONCURRENCY, durationMs: 500 });
          const meter = cpuMeterByProcess([servers.get(v.key)!.pid]);
          const res = await runLoad(call(v), { concurrency: CONCURRENCY, durationMs: SECONDS * 1000 });
          const [client, server] = meter();
          const sum = cpu.get(v.key) ?? { client: 0, server: 0 };
          cpu.set(v.key, { client: sum.client + client!, server: sum.server + server! });
          (rounds.get(v.key) ?? rounds.set(v.key, []).get(v.key)!).push(res);
          progress(
            PART,
            `round ${r}: ${v.key} ${Math.round(res.rate)} calls/s, p50 ${res.p50Ms.toFixed(3)} ms, client ${Math.round((client! * 1000) / res.calls)} + server ${Math.round((server! * 1000) / res.calls)} µs CPU per call`,
          );
        });

    const measured = Object.fromEntries(
      variants.map((v) => {
        const r = combine(rounds.get(v.key)!);
        const c = cpu.get(v.key)!;
        const clientUs = round((c.client * 1000) / r.calls, 1);
        const serverUs = round((c.server * 1000) / r.calls, 1);
        return [v.key, { ...r, clientUs, serverUs, cpuUsPerCall: round(clientUs + serverUs, 1) }];
      }),
    );
    const off = measured.off!.cpuUsPerCall;
    const overhead = Object.fromEntries(
      variants.map((v) => [v.key, round(measured[v.key]!.cpuUsPerCall / off - 1, 3)]),
    ) as Record<Variant["key"], number>;
    const exported = (await (await fetch(`${sinkUrl}/stats`)).json()) as { requests: number; bytes: number };
    const table =
      markdownTable(
        [
          "tracing, unary RPC over NATS, " + CONCURRENCY + " callers",
          "calls/s",
          "p50 ms",
          "p99 ms",
          "CPU µs/call (client + server)",
          "vs off",
        ],
        variants.map((v) => {
          const m = measured[v.key]!;
          return [
            v.label,
            Math.round(m.rate),
            m.p50Ms,
            m.p99Ms,
            `${m.cpuUsPerCall} (${m.clientUs} + ${m.serverUs})`,
            v.key === "off" ? "—" : `${overhead[v.key] >= 0 ? "+" : ""}${round(overhead[v.key] * 100, 1)}%`,
          ];
        }),
      ) +
      `\n\nThe sink got ${exported.requests} export requests, ${round(exported.bytes / 2 ** 20, 1)} MB. ` +
      `Three spans per sampled call: the client's call and its attempt, and the server's call (the echo does no work of its own).`;
    writeResult(
      PART,
      { secondsPerRound: SECONDS, rounds: ROUNDS, concurrency: CONCURRENCY, results: measured, overhead },
      table,
    );
    return { measured, overhead };
  } finally {
    for (const c of clients.values()) await c.stop();
    await nc.close();
    for (const s of servers.values()) await s.stop();
    await sink.stop();
  }
}

if (import.meta.main) await runTracingBench();
