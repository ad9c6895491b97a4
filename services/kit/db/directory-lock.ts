import { closeSync, existsSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { hostname } from "node:os";

/** A directory that another live process holds. */
export class DirectoryInUseError extends Error {
  constructor(
    readonly dir: string,
    readonly pid: number,
    /** Set when the holder is on another host (a shared volume): its liveness cannot be checked from here. */
    readonly host?: string,
  ) {
    super(
      host
        ? `${dir} is in use by process ${pid} on host ${host} (if that host is gone, remove ${dir}.lock)`
        : `${dir} is in use by process ${pid}`,
    );
    this.name = "DirectoryInUseError";
  }
}

/** The folders this process holds: a lock naming our own pid that is not among them is a previous life's. */
const held = new Set<string>();

export interface DirectoryLock {
  /** The pid of a dead holder whose lock was taken over, if any. */
  readonly tookOverFrom?: number;
  /** Removes the lock file, if it is still this process's. Idempotent. */
  release(): void;
}

/**
 * Makes this process the one owner of `dir` (an embedded database's folder, which two processes must never
 * open at once): an exclusive create of `<dir>.lock` holding the pid. A lock whose pid is no longer a
 * live process on this host (a holder that was killed) is taken over. Released on release() and when
 * the process exits; a SIGKILL leaves it behind for the next start to take over.
 *
 * @example
 *   const lock = lockDirectory(join(dataDir, "payment", "pglite"));   // throws DirectoryInUseError
 *   try { ... } finally { lock.release(); }
 */
export function lockDirectory(dir: string, { alive = isLiveProcess } = {}): DirectoryLock {
  const file = `${dir}.lock`;
  const mine = `${process.pid} ${hostname()}\n`;
  let tookOverFrom: number | undefined;
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(file, "wx", 0o600);
      writeSync(fd, mine);
      closeSync(fd);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST" || attempt >= 3) throw e;
    }
    const holder = readHolder(file);
    if (holder === undefined) continue; // removed meanwhile (or being written): look again
    // Our own pid but not held by us: a process before us had it (a container's pid 1 restarted, say).
    const ours = holder.pid === process.pid && !held.has(dir);
    if (holder.host === hostname() && (ours || (holder.pid !== process.pid && !alive(holder.pid)))) {
      // Stale: its holder is gone. Whoever removes it first creates the next one; the others find that.
      tookOverFrom = holder.pid;
      try {
        unlinkSync(file);
      } catch {}
      continue;
    }
    throw new DirectoryInUseError(dir, holder.pid, holder.host === hostname() ? undefined : holder.host);
  }
  held.add(dir);
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    held.delete(dir);
    process.off("exit", release);
    try {
      if (readFileSync(file, "utf8") === mine) unlinkSync(file);
    } catch {}
  };
  process.on("exit", release);
  return { tookOverFrom, release };
}

function readHolder(file: string): { pid: number; host: string } | undefined {
  if (!existsSync(file)) return undefined;
  const [pid, host] = readFileSync(file, "utf8").trim().split(/\s+/);
  const n = Number(pid);
  // Half written (the creator is between its create and its write): treat as held by someone unknown.
  return Number.isInteger(n) && n > 0 ? { pid: n, host: host ?? hostname() } : { pid: 0, host: "?" };
}

/** Whether a pid is a live process (on Linux: one that is not a zombie). */
export function isLiveProcess(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return true;
  }
}
