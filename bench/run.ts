// Every benchmark part in turn, side by side on this machine: bun bench/run.ts [part ...]
// Parts: rpc, orders, events, policy, memory, tracing, validation. Each writes bench/results/<part>.json and prints its table.
import { runEventsBench } from "./events";
import { runMemoryBench } from "./memory";
import { runOrdersBench } from "./orders";
import { runPolicyBench } from "./policy";
import { runRpcBench } from "./rpc";
import { runTracingBench } from "./tracing";
import { runValidationBench } from "./validation";
import { progress } from "./lib/report";

const PARTS: Record<string, () => Promise<unknown>> = {
  rpc: runRpcBench,
  orders: runOrdersBench,
  events: runEventsBench,
  policy: runPolicyBench,
  memory: runMemoryBench,
  tracing: runTracingBench,
  validation: runValidationBench,
};

const wanted = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(PARTS);
const unknown = wanted.filter((p) => !PARTS[p]);
if (unknown.length) {
  console.error(`unknown part(s): ${unknown.join(", ")}; parts are ${Object.keys(PARTS).join(", ")}`);
  process.exit(2);
}
for (const part of wanted) {
  const started = Date.now();
  progress("run", `── ${part}`);
  await PARTS[part]!();
  progress("run", `── ${part} done in ${Math.round((Date.now() - started) / 1000)} s`);
}
