// Part 5: RSS of each service, idle and at its peak under the order load, with all seven services
// running (notification and marketing consume the order events). The order load is the orders part's
// platform flow, shorter; the per-service limit the issue sets is 100 MB under load.
// Run: bun bench/memory.ts   (BENCH_MEMORY_SECONDS)
import { memoryTable, runOrdersFlows, type MemoryRow } from "./orders";
import { writeResult } from "./lib/report";

export function writeMemory(memory: MemoryRow[], orders: { rate: number; seconds: number }) {
  const over = memory.filter((m) => m.loadPeakMb >= 100).map((m) => m.service);
  const table = `${memoryTable(memory)}\n\nUnder ${orders.rate} orders/s for ${orders.seconds} s; ${over.length ? `over 100 MB: ${over.join(", ")}` : "every service stayed under 100 MB"}.`;
  writeResult("memory", { limitMb: 100, overLimit: over, load: orders, memory }, table);
}

export async function runMemoryBench() {
  const seconds = Number(process.env.BENCH_MEMORY_SECONDS ?? 15);
  const { platform } = await runOrdersFlows({ part: "memory", seconds, downstream: true, baseline: false });
  writeMemory(platform.memory, { rate: platform.load.rate, seconds });
}

if (import.meta.main) await runMemoryBench();
