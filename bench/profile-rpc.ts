// Profiles the platform's RPC path (part 1a) on both sides with Bun's --cpu-prof: the kit service and a
// client process, 32 callers for BENCH_PROFILE_SECONDS. Writes .cpuprofile files to bench/results/profile/
// (not committed) and prints the top self-time functions of each side.
// With the OTEL_* variables set (e.g. OTEL_EXPORTER_OTLP_ENDPOINT and OTEL_TRACES_SAMPLER_ARG=0 under
// parentbased_traceidratio), both sides trace: what tracing costs, by function.
// Run: bun bench/profile-rpc.ts
import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { runId, spawnProcess, spawnService } from "./lib/processes";
import { progress } from "./lib/report";

const DIR = join(import.meta.dir, "results", "profile");
const SECONDS = process.env.BENCH_PROFILE_SECONDS ?? "6";

if (process.env.BENCH_PROFILE_ROLE === "client") {
  // The client side, run as its own profiled process.
  const { connect } = await import("@nats-io/transport-node");
  const pino = (await import("pino")).default;
  const { createServiceClients } = await import("../services/kit/rpc");
  const { staticPolicies } = await import("../services/kit/resilience");
  const { PaymentService } = await import("../services/contracts/gen/shop/payment/v1/payment_service_pb");
  const { runLoad } = await import("./lib/load");
  // Traced as a service is when the OTEL_* variables say so (the kit service inherits them too).
  const { startTracing } = await import("../services/kit/tracing");
  startTracing({
    service: "bench-client",
    version: "0",
    instanceId: String(process.pid),
    env: process.env as Record<string, string>,
    log: pino({ level: "silent" }),
  });
  const nc = await connect({ servers: (process.env.NATS_URL ?? "nats://127.0.0.1:4222").split(",") });
  const clients = createServiceClients(nc, {
    namespace: process.env.PLATFORM_NAMESPACE!,
    log: pino({ level: "silent" }),
    policies: staticPolicies(),
  });
  await clients.ready;
  const client = clients.connect(PaymentService);
  const r = await runLoad(() => client.getPaymentStatus({ paymentId: "0b9f7c1e-3d2a-4c5b-8e6f-7a8b9c0d1e2f" }), {
    concurrency: 32,
    durationMs: Number(SECONDS) * 1000,
    warmupMs: 1000,
  });
  console.log(
    JSON.stringify({ ready: true, rate: Math.round(r.rate), p50Ms: r.p50Ms, p99Ms: r.p99Ms, errors: r.errors }),
  );
  await clients.stop();
  await nc.close();
  process.exit(0);
}

type Profile = {
  nodes: { id: number; children?: number[]; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
};

/** Where a frame comes from: a package, a file of ours, node:*, or Bun's native code. */
function moduleOf(url: string): string {
  if (!url) return "(native/builtin)";
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1]!;
  if (url.startsWith("node:") || url.startsWith("internal:"))
    return url.split(":")[0] + ":" + url.split(":")[1]!.split("/")[0];
  return url.replace(/^.*\/main\//, "");
}

/** Inclusive time per module: the share of samples with that module anywhere on the stack, top n. */
function inclusiveByModule(file: string, n = 20): string[] {
  const prof = JSON.parse(readFileSync(file, "utf8")) as Profile;
  const parent = new Map<number, number>();
  for (const nd of prof.nodes) for (const c of nd.children ?? []) parent.set(c, nd.id);
  const byId = new Map(prof.nodes.map((nd) => [nd.id, nd]));
  const counts = new Map<string, number>();
  let idle = 0;
  for (const s of prof.samples) {
    if (byId.get(s)!.callFrame.functionName === "(idle)") idle++;
    const seen = new Set<string>();
    for (let id: number | undefined = s; id !== undefined; id = parent.get(id))
      seen.add(moduleOf(byId.get(id)!.callFrame.url));
    for (const m of seen) counts.set(m, (counts.get(m) ?? 0) + 1);
  }
  const total = prof.samples.length;
  return [
    `(samples ${total}, idle ${((100 * idle) / total).toFixed(1)}%)`,
    ...[...counts.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, c]) => `${((100 * c) / total).toFixed(1).padStart(5)}%  ${k}`),
  ];
}

/** Self time per function (file:line) from a .cpuprofile, top n. */
function topSelf(file: string, n = 25): string[] {
  const prof = JSON.parse(readFileSync(file, "utf8")) as {
    nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
    samples: number[];
  };
  const byId = new Map(prof.nodes.map((nd) => [nd.id, nd]));
  const counts = new Map<string, number>();
  for (const s of prof.samples) {
    const cf = byId.get(s)!.callFrame;
    const key = `${cf.functionName || "(anonymous)"} ${cf.url.replace(/^.*node_modules\//, "").replace(/^.*\/main\//, "")}:${cf.lineNumber + 1}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const total = prof.samples.length;
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, c]) => `${((100 * c) / total).toFixed(1).padStart(5)}%  ${k}`);
}

rmSync(DIR, { recursive: true, force: true });
mkdirSync(join(DIR, "server"), { recursive: true });
mkdirSync(join(DIR, "client"), { recursive: true });
const namespace = runId("benchprof");
const server = await spawnProcess("payment", join(import.meta.dir, "servers", "kit-payment.ts"), {
  args: ["--cpu-prof", "--cpu-prof-dir", join(DIR, "server")],
  env: { PAYMENT_HTTP_PORT: "0", PLATFORM_NAMESPACE: namespace, LOG_LEVEL: "info" },
  isReady: (l) => l.msg === "payment started",
});
progress("profile", `profiling ${SECONDS} s of the platform RPC path`);
const client = await spawnProcess("client", import.meta.path, {
  args: ["--cpu-prof", "--cpu-prof-dir", join(DIR, "client")],
  env: { PLATFORM_NAMESPACE: namespace, BENCH_PROFILE_SECONDS: SECONDS, BENCH_PROFILE_ROLE: "client" },
  isReady: (l) => l.ready === true,
  timeoutMs: 60_000,
});
console.log("client result:", JSON.stringify(client.ready));
await client.proc.exited;
await server.stop();
for (const side of ["server", "client"]) {
  const files = readdirSync(join(DIR, side)).filter((f) => f.endsWith(".cpuprofile"));
  console.log(`\n── ${side} (self time, top 25)`);
  for (const f of files) {
    for (const line of topSelf(join(DIR, side, f))) console.log(line);
    console.log(`── ${side} (inclusive, by module)`);
    for (const line of inclusiveByModule(join(DIR, side, f))) console.log(line);
  }
}
