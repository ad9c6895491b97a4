// Part 5: RSS of each service, idle and at its peak under the order load, with all seven services
// running (notification and marketing consume the order events). The order load is the orders part's
// platform flow, shorter; the per-service limit the issue sets is 100 MB under load.
//
// RSS counts the pages of the bun executable each process touched (~32-39 MB, shared by every Bun
// process on the machine, one copy in RAM) as well as the process's private pages (JS heap, JIT code
// and its compilers' memory, malloc), so the table gives the private part too. The peak grows with the
// work done, not the time: JavaScriptCore compiles more code into its optimising tiers and lets the
// heap grow between full collections, so the number of orders placed is reported with it.
//
// Runtime options are measured by passing them to the service processes: `bun` flags through
// BENCH_SERVICE_BUN_ARGS (e.g. "--smol"), JavaScriptCore options as BUN_JSC_* variables in the
// environment (e.g. BUN_JSC_useDFGJIT=0), which the services inherit. The result records which were set.
// The load is paced (BENCH_MEMORY_RATE orders/s, default 30) so that runs compare like with like: faster
// code would otherwise place more orders in the same time and peak higher for it.
// Run: bun bench/memory.ts   (BENCH_MEMORY_SECONDS, BENCH_MEMORY_RATE; 0 for as fast as the customers go)
import { memoryTable, runOrdersFlows, type MemoryRow } from "./orders";
import { serviceBunArgs } from "./lib/processes";
import { writeResult } from "./lib/report";

/** The runtime options the services ran with, so a result says what it measured. */
function runtimeOptions() {
  const jsc = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => k.startsWith("BUN_JSC_") || k === "BUN_OPTIONS"),
  );
  return { bunArgs: serviceBunArgs(), env: jsc };
}

export function writeMemory(
  memory: MemoryRow[],
  orders: { rate: number; seconds: number; ordersPlaced: number; pacedAt?: number },
) {
  const over = memory.filter((m) => m.loadPeakMb >= 100).map((m) => m.service);
  const runtime = runtimeOptions();
  const options = [...runtime.bunArgs, ...Object.entries(runtime.env).map(([k, v]) => `${k}=${v}`)];
  const table =
    `${memoryTable(memory)}\n\n${orders.ordersPlaced} orders placed (${orders.rate} orders/s${orders.pacedAt ? `, paced at ${orders.pacedAt}` : ""}, for ${orders.seconds} s after a 2 s warm-up)` +
    `${options.length ? ` with ${options.join(" ")}` : ""}; ${over.length ? `over 100 MB: ${over.join(", ")}` : "every service stayed under 100 MB"}.`;
  writeResult("memory", { limitMb: 100, overLimit: over, load: orders, runtime, memory }, table);
}

export async function runMemoryBench() {
  const seconds = Number(process.env.BENCH_MEMORY_SECONDS ?? 15);
  const pacedAt = Number(process.env.BENCH_MEMORY_RATE ?? 30);
  const { platform } = await runOrdersFlows({
    part: "memory",
    seconds,
    downstream: true,
    baseline: false,
    ratePerSecond: pacedAt,
  });
  writeMemory(platform.memory, { rate: platform.load.rate, seconds, ordersPlaced: platform.ordersPlaced, pacedAt });
}

if (import.meta.main) await runMemoryBench();
