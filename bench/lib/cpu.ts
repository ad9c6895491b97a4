import { readFileSync } from "node:fs";

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ: 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** CPU time (user + system) a process has used so far, in ms, from /proc; NaN when it cannot be read. */
export function processCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name, which is in parentheses and may hold spaces: utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return NaN;
  }
}

/** The NATS server on this machine that has run longest (the shared one, not a test's own), for the CPU a call over NATS costs there. */
export function natsServerPid(): number | undefined {
  const out = Bun.spawnSync(["pgrep", "-o", "-x", "nats-server"]).stdout.toString().trim();
  return out ? Number(out) : undefined;
}

/**
 * CPU used between `start()` and the returned function's call, in ms, by this process and `pids`:
 * a measure of work per call that other load on the machine disturbs far less than throughput.
 */
export function cpuMeter(pids: number[]): () => number {
  const parts = cpuMeterByProcess(pids);
  return () => parts().reduce((a, b) => a + b, 0);
}

/** As cpuMeter, one figure per process: this one first, then `pids` in order. */
export function cpuMeterByProcess(pids: number[]): () => number[] {
  const own0 = process.cpuUsage();
  const others0 = pids.map(processCpuMs);
  return () => {
    const own = process.cpuUsage(own0);
    return [(own.user + own.system) / 1000, ...pids.map((pid, i) => processCpuMs(pid) - others0[i]!)];
  };
}
