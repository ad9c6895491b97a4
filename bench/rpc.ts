// Part 1: one unary call with a small message, 32 concurrent callers, client (this process) and server
// (its own process) apart. Variants, measured in alternating rounds in one run:
//   platform     ctx.clients-style: createServiceClients (NATS discovery, cockatiel policies, Connect binary)
//                against a service started through the kit (runService)
//   bare Bun     fetch() → Bun.serve, protobuf decode/encode only: the limit of the stack
//   connect-es   stock createConnectTransport (connect-node, and connect-web's fetch one) → createFetchHandler on Bun.serve
//   Moleculer    broker.call over the same NATS, two processes
// Besides calls/s: CPU time per call, client + server (+ nats-server for Moleculer), which other load on
// the machine disturbs far less than throughput.
// Run: bun bench/rpc.ts   (BENCH_RPC_SECONDS, BENCH_RPC_ROUNDS, BENCH_CONCURRENCY to change the load; BENCH_RPC_ONLY=platform,moleculer)
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport as nodeTransport } from "@connectrpc/connect-node";
import { createConnectTransport as fetchTransport } from "@connectrpc/connect-web";
import { connect } from "@nats-io/transport-node";
import { ServiceBroker } from "moleculer";
import { join } from "node:path";
import pino from "pino";
import {
  GetPaymentStatusRequestSchema,
  GetPaymentStatusResponseSchema,
  PaymentService,
} from "../services/contracts/gen/shop/payment/v1/payment_service_pb";
import { createServiceClients } from "../services/kit/rpc";
import { staticPolicies } from "../services/kit/resilience";
import { cpuMeterByProcess, natsServerPid } from "./lib/cpu";
import { combine, runLoad, type LoadResult } from "./lib/load";
import { spawnProcess, spawnService, runId, type BenchProcess } from "./lib/processes";
import { markdownTable, progress, ratio, writeResult } from "./lib/report";

const PART = "rpc";
const NATS_URL = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const SECONDS = Number(process.env.BENCH_RPC_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_RPC_ROUNDS ?? 2);
/** A comma-separated subset of the variants (bare Bun is always measured: the ratios need it), for quick comparisons while working. */
const ONLY = process.env.BENCH_RPC_ONLY;
const PAYMENT_ID = "0b9f7c1e-3d2a-4c5b-8e6f-7a8b9c0d1e2f";

interface Variant {
  key: string;
  label: string;
  call: () => Promise<unknown>;
  /** The processes besides this one that do work for a call (its CPU per call counts theirs). */
  pids: number[];
}

export async function runRpcBench() {
  const namespace = runId("benchrpc");
  const procs: BenchProcess[] = [];
  const cleanups: (() => Promise<unknown>)[] = [];
  try {
    progress(PART, `starting servers (namespace ${namespace})`);
    const server = (file: string) => join(import.meta.dir, "servers", file);
    const [kit, bare, stock, mol] = await Promise.all([
      spawnService("payment", { PLATFORM_NAMESPACE: namespace, NATS_URL }, server("kit-payment.ts")),
      spawnProcess("bare-bun", server("bare-bun.ts"), { isReady: (l) => l.ready === true }),
      spawnProcess("stock-connect", server("stock-connect.ts"), { isReady: (l) => l.ready === true }),
      spawnProcess("moleculer", server("moleculer-payment.ts"), {
        env: { BENCH_NAMESPACE: namespace, NATS_URL },
        isReady: (l) => l.ready === true,
      }),
    ]);
    procs.push(kit, bare, stock, mol);

    // (a) the platform's client, as the kit builds ctx.clients for a service
    const nc = await connect({ servers: NATS_URL.split(",") });
    cleanups.push(() => nc.close());
    const clientsOver = async (transport: "http" | "nats") => {
      const clients = createServiceClients(nc, {
        namespace,
        log: pino({ level: "silent" }),
        policies: staticPolicies(),
        transport,
      });
      cleanups.push(() => clients.stop());
      await clients.ready;
      return clients.connect(PaymentService);
    };
    const platform = await clientsOver("http");
    const platformNats = await clientsOver("nats");

    // (b) bare fetch
    const bareUrl = String(bare.ready.url);
    const bareBody = toBinary(
      GetPaymentStatusRequestSchema,
      create(GetPaymentStatusRequestSchema, { paymentId: PAYMENT_ID }),
    );
    const bareCall = async () => {
      const res = await fetch(bareUrl, {
        method: "POST",
        body: bareBody,
        headers: { "content-type": "application/proto" },
      });
      return fromBinary(GetPaymentStatusResponseSchema, new Uint8Array(await res.arrayBuffer()));
    };

    // (c) stock connect-es clients
    const stockUrl = String(stock.ready.url);
    const stockNode = createClient(PaymentService, nodeTransport({ baseUrl: stockUrl, httpVersion: "1.1" }));
    const stockFetch = createClient(PaymentService, fetchTransport({ baseUrl: stockUrl, useBinaryFormat: true }));

    // (d) Moleculer client broker
    const broker = new ServiceBroker({
      namespace,
      nodeID: `bench-client-${process.pid}`,
      transporter: { type: "NATS", options: { url: NATS_URL } },
      logger: false,
    });
    await broker.start();
    cleanups.push(() => broker.stop());
    await broker.waitForServices(["payment"], 10_000);

    const natsPid = natsServerPid();
    const allVariants: Variant[] = [
      {
        key: "platformNats",
        label: "platform over NATS (kit client → kit service: discovery, policies, Connect binary on NATS)",
        call: () => platformNats.getPaymentStatus({ paymentId: PAYMENT_ID }),
        pids: [kit.pid, ...(natsPid ? [natsPid] : [])],
      },
      {
        key: "platform",
        label: "platform over HTTP (kit client → kit service: discovery, policies, Connect binary on HTTP/1.1)",
        call: () => platform.getPaymentStatus({ paymentId: PAYMENT_ID }),
        pids: [kit.pid],
      },
      { key: "bare", label: "bare Bun fetch → Bun.serve (limit of the stack)", call: bareCall, pids: [bare.pid] },
      {
        key: "connectNode",
        label: "stock connect-es (connect-node transport → createFetchHandler)",
        call: () => stockNode.getPaymentStatus({ paymentId: PAYMENT_ID }),
        pids: [stock.pid],
      },
      {
        key: "connectFetch",
        label: "stock connect-es (connect-web fetch transport → createFetchHandler)",
        call: () => stockFetch.getPaymentStatus({ paymentId: PAYMENT_ID }),
        pids: [stock.pid],
      },
      {
        key: "moleculer",
        label: "Moleculer over NATS (JSON)",
        call: () => broker.call("payment.getPaymentStatus", { paymentId: PAYMENT_ID }),
        pids: [mol.pid, ...(natsPid ? [natsPid] : [])],
      },
    ];
    const only = ONLY ? new Set([...ONLY.split(","), "bare"]) : undefined;
    const variants = allVariants.filter((v) => !only || only.has(v.key));
    // Every variant answers correctly before anything is timed.
    for (const v of variants) {
      const answer = (await v.call()) as { payment?: { id?: string } };
      if (answer.payment?.id !== PAYMENT_ID) throw new Error(`${v.key}: unexpected answer ${JSON.stringify(answer)}`);
    }

    const rounds = new Map<string, Awaited<ReturnType<typeof runLoad>>[]>();
    // Per variant: CPU ms of the client (this process), the server, and nats-server where it carries the call.
    const cpuMs = new Map<string, number[]>();
    for (let r = 1; r <= ROUNDS; r++) {
      for (const v of variants) {
        await runLoad(v.call, { concurrency: CONCURRENCY, durationMs: 1000 });
        const cpu = cpuMeterByProcess(v.pids);
        const res = await runLoad(v.call, { concurrency: CONCURRENCY, durationMs: SECONDS * 1000 });
        const used = cpu();
        cpuMs.set(
          v.key,
          used.map((ms, i) => ms + (cpuMs.get(v.key)?.[i] ?? 0)),
        );
        (rounds.get(v.key) ?? rounds.set(v.key, []).get(v.key)!).push(res);
        progress(
          PART,
          `round ${r}/${ROUNDS} ${v.key}: ${Math.round(res.rate)} calls/s, p50 ${res.p50Ms.toFixed(2)} ms, p99 ${res.p99Ms.toFixed(2)} ms${res.errors ? `, ${res.errors} errors (${res.firstError})` : ""}`,
        );
      }
    }
    const results: Record<
      string,
      LoadResult & {
        label: string;
        cpuUsPerCall: number;
        cpuUsPerCallClient: number;
        cpuUsPerCallServer: number;
        cpuUsPerCallNats: number;
      }
    > = {};
    for (const v of variants) {
      const combined = combine(rounds.get(v.key)!);
      const [client, server, nats] = cpuMs.get(v.key)!.map((ms) => (ms * 1000) / combined.calls);
      results[v.key] = {
        label: v.label,
        ...combined,
        cpuUsPerCall: Math.round(client! + server! + (nats ?? 0)),
        cpuUsPerCallClient: Math.round(client!),
        cpuUsPerCallServer: Math.round(server!),
        cpuUsPerCallNats: Math.round(nats ?? 0),
      };
    }
    const memoryMb = Object.fromEntries(procs.map((p) => [p.name, p.rssMb()]));
    const rate = (key: string) => results[key]?.rate ?? NaN;
    const ratios = {
      platformNatsOverLimit: ratio(rate("platformNats"), rate("bare")),
      platformNatsOverMoleculer: ratio(rate("platformNats"), rate("moleculer")),
      platformNatsOverHttp: ratio(rate("platformNats"), rate("platform")),
      platformOverLimit: ratio(rate("platform"), rate("bare")),
      platformOverMoleculer: ratio(rate("platform"), rate("moleculer")),
      connectNodeOverLimit: ratio(rate("connectNode"), rate("bare")),
      connectFetchOverLimit: ratio(rate("connectFetch"), rate("bare")),
      moleculerOverLimit: ratio(rate("moleculer"), rate("bare")),
    };
    const table = markdownTable(
      [
        "RPC, unary, 32 callers, 2 processes",
        "calls/s",
        "p50 ms",
        "p99 ms",
        "× bare Bun",
        "CPU µs/call",
        "client + server + nats-server µs",
      ],
      variants.map((v) => {
        const r = results[v.key]!;
        const split = `${r.cpuUsPerCallClient} + ${r.cpuUsPerCallServer} + ${r.cpuUsPerCallNats}`;
        return [v.label, r.rate, r.p50Ms, r.p99Ms, ratio(r.rate, results.bare!.rate), r.cpuUsPerCall, split];
      }),
    );
    // A subset is a working comparison, not a result: it is printed, bench/results keeps the full run.
    if (only) console.log(`\n${table}\n\n(BENCH_RPC_ONLY: not written to bench/results)`);
    else
      writeResult(
        PART,
        {
          concurrency: CONCURRENCY,
          secondsPerRound: SECONDS,
          rounds: ROUNDS,
          results,
          ratios,
          serverRssMbAfter: memoryMb,
        },
        table,
      );
    return { results, ratios };
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => {});
    await Promise.all(procs.map((p) => p.stop()));
  }
}

if (import.meta.main) await runRpcBench();
