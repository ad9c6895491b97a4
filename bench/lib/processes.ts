import type { Subprocess } from "bun";
import { readFileSync } from "node:fs";
import { join } from "node:path";

export const ROOT = join(import.meta.dir, "..", "..");

export interface BenchProcess {
  readonly name: string;
  readonly pid: number;
  /** The line (parsed JSON) that said the process is ready: a kit service's "<name> started", or a bench server's {"ready":...}. */
  readonly ready: Record<string, unknown>;
  readonly proc: Subprocess<"ignore", "pipe", "pipe">;
  /** Resident memory now, in MB (from /proc). */
  rssMb(): number;
  /** Resident memory now split by kind, in MB (from /proc). */
  memory(): ResidentMemory;
  stop(): Promise<number | null>;
}

/**
 * Runs `bun <file>` as its own process and resolves with the first stdout line (JSON) that `isReady`
 * accepts. Output after that is read and dropped, so the bench process does not pay for parsing the
 * service's logs while it measures. Fails with the output if not ready within `timeoutMs`.
 */
export async function spawnProcess(
  name: string,
  file: string,
  {
    env = {},
    isReady,
    timeoutMs = 30_000,
    args = [],
  }: {
    env?: Record<string, string>;
    isReady: (line: Record<string, unknown>) => boolean;
    timeoutMs?: number;
    args?: string[];
  },
): Promise<BenchProcess> {
  const proc = Bun.spawn(["bun", ...args, file], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let output = "";
  let stderr = "";
  void (async () => {
    for await (const chunk of proc.stderr) if (stderr.length < 20_000) stderr += new TextDecoder().decode(chunk);
  })();
  const ready = new Promise<Record<string, unknown>>((resolve) => {
    void (async () => {
      let found = false;
      let buffered = "";
      for await (const chunk of proc.stdout) {
        if (found) continue;
        buffered += new TextDecoder().decode(chunk);
        let nl: number;
        while (!found && (nl = buffered.indexOf("\n")) >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          if (output.length < 20_000) output += line + "\n";
          try {
            const entry = JSON.parse(line);
            if (isReady(entry)) {
              found = true;
              resolve(entry);
            }
          } catch {}
        }
      }
    })();
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const entry = await Promise.race([
    ready,
    proc.exited.then((code) => {
      throw new Error(`${name} exited with ${code} before it was ready:\n${stderr}${output}`);
    }),
    new Promise<never>(
      (_, reject) =>
        (timer = setTimeout(
          () => reject(new Error(`${name} not ready within ${timeoutMs} ms:\n${stderr}${output}`)),
          timeoutMs,
        )),
    ),
  ])
    .catch(async (e) => {
      proc.kill("SIGKILL");
      await proc.exited;
      throw e;
    })
    .finally(() => clearTimeout(timer));
  return {
    name,
    pid: proc.pid,
    ready: entry,
    proc,
    rssMb: () => rssMb(proc.pid),
    memory: () => residentMemory(proc.pid),
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
      const killer = setTimeout(() => proc.kill("SIGKILL"), 15_000);
      const code = await proc.exited;
      clearTimeout(killer);
      return code;
    },
  };
}

/** A platform service (services/<name>/main.ts) on free ports, ready once it logged "<name> started". */
export function spawnService(
  name: string,
  env: Record<string, string>,
  file = join(ROOT, "services", name, "main.ts"),
): Promise<BenchProcess> {
  const prefix = name.toUpperCase();
  return spawnProcess(name, file, {
    args: serviceBunArgs(),
    env: { [`${prefix}_HTTP_PORT`]: "0", [`${prefix}_GRPC_PORT`]: "0", LOG_LEVEL: "info", ...env },
    isReady: (l) => l.msg === `${name} started`,
  });
}

/** Extra `bun` flags for every service process (BENCH_SERVICE_BUN_ARGS="--smol"), to measure runtime options side by side. */
export const serviceBunArgs = () => (process.env.BENCH_SERVICE_BUN_ARGS ?? "").split(" ").filter(Boolean);

export function rssMb(pid: number): number {
  return residentMemory(pid).rssMb;
}

/**
 * A process's resident memory: private is what it alone holds (anonymous pages: JS heap, JIT code,
 * malloc); shared file is mapped files, almost all the bun executable's own pages, which every Bun
 * process on the machine shares (one copy in RAM) but each one's RSS counts in full.
 */
export interface ResidentMemory {
  rssMb: number;
  privateMb: number;
  sharedFileMb: number;
}

export function residentMemory(pid: number): ResidentMemory {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const mb = (field: string) => {
      const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(status);
      return m ? Math.round(Number(m[1]) / 102.4) / 10 : NaN;
    };
    return { rssMb: mb("VmRSS"), privateMb: mb("RssAnon"), sharedFileMb: mb("RssFile") };
  } catch {
    return { rssMb: NaN, privateMb: NaN, sharedFileMb: NaN };
  }
}

/** A name of its own for this run (namespaces, prefixes, schemas): lower-case letters and digits. */
export const runId = (what: string) => `${what}${crypto.randomUUID().replaceAll("-", "").slice(0, 8)}`;
