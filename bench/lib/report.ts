import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";

export const RESULTS_DIR = join(import.meta.dir, "..", "results");

/** What a result depends on besides the code: the machine and the runtime. */
export function machine() {
  let load: number[] | undefined;
  try {
    load = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).map(Number);
  } catch {}
  return {
    cores: cpus().length,
    cpu: cpus()[0]?.model,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    bun: Bun.version,
    date: new Date().toISOString(),
    // Other people's tests share this machine; a busy one lowers absolute numbers (not the side-by-side ratios as much).
    loadAverageAtEnd: load,
  };
}

export function progress(part: string, msg: string): void {
  console.log(`[${part} ${new Date().toISOString().slice(11, 19)}] ${msg}`);
}

/** Writes bench/results/<part>.json and prints the markdown table. */
export function writeResult(part: string, result: Record<string, unknown>, table: string): void {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `${part}.json`);
  writeFileSync(file, JSON.stringify({ part, machine: machine(), ...result, table }, null, 2) + "\n");
  console.log(`\n${table}\n\nwritten ${file}`);
}

/** A markdown table from a header and rows. */
export function markdownTable(header: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

export const ratio = (a: number, b: number) => (b > 0 ? Math.round((a / b) * 100) / 100 : NaN);
