import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import type { Subprocess } from "bun";
import { join } from "node:path";
import { deleteStreams, EventNames } from "../events/topology/streams";

const ROOT = join(import.meta.dir, "../../..");

export interface ServiceProcess {
  readonly name: string;
  readonly id: string;
  readonly http: string;
  readonly grpc?: string;
  /** The operations listener (probes, metrics), for a service that keeps it apart. */
  readonly ops?: string;
  readonly proc: Subprocess<"ignore", "pipe", "pipe">;
  /** Every log line the process printed so far, parsed. */
  readonly logs: Record<string, unknown>[];
  /** What it printed on stderr so far (a crash's stack, say). */
  stderr(): string;
  /** Resolves with the exit code once the process ended (SIGTERM by default, bounded). */
  stop(signal?: NodeJS.Signals): Promise<number>;
}

/**
 * Runs `bun services/<name>/main.ts` as its own process on free ports (port 0) and resolves once it
 * logged that it started, with the URLs it registered. Fails with the process's output if it does not
 * start within `timeoutMs`.
 */
export async function startServiceProcess(
  name: string,
  { env = {}, timeoutMs = 20_000 }: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<ServiceProcess> {
  const prefix = name.toUpperCase();
  // Streams of its own unless the test shares some between its services (EVENTS_PREFIX): a lone service
  // never reads another test's events, and its streams go away with it.
  const ownEvents =
    env.EVENTS_PREFIX === undefined ? `p${crypto.randomUUID().replaceAll("-", "").slice(0, 10)}` : undefined;
  const proc = Bun.spawn(["bun", join(ROOT, "services", name, "main.ts")], {
    cwd: ROOT,
    env: {
      ...process.env,
      [`${prefix}_HTTP_PORT`]: "0",
      [`${prefix}_GRPC_PORT`]: "0",
      [`${prefix}_OPS_PORT`]: "0",
      LOG_LEVEL: "info",
      ...(ownEvents ? { EVENTS_PREFIX: ownEvents } : {}),
      ...env,
    },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const logs: Record<string, unknown>[] = [];
  let stderr = "";
  (async () => {
    for await (const chunk of proc.stderr) stderr += new TextDecoder().decode(chunk);
  })();
  const started = new Promise<Record<string, unknown>>((resolve) => {
    (async () => {
      let buffered = "";
      for await (const chunk of proc.stdout) {
        buffered += new TextDecoder().decode(chunk);
        let nl: number;
        while ((nl = buffered.indexOf("\n")) >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          try {
            const entry = JSON.parse(line);
            logs.push(entry);
            if (entry.msg === `${name} started`) resolve(entry);
          } catch {
            logs.push({ raw: line });
          }
        }
      }
    })();
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const entry = await Promise.race([
    started,
    proc.exited.then((code) => {
      throw new Error(
        `${name} exited with ${code} before it started:\n${stderr}${logs.map((l) => JSON.stringify(l)).join("\n")}`,
      );
    }),
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${name} did not start within ${timeoutMs} ms:\n${stderr}`)),
        timeoutMs,
      );
    }),
  ])
    .catch(async (e) => {
      proc.kill("SIGKILL"); // never leave a half-started service behind
      await proc.exited;
      if (ownEvents) await dropEventStreams(ownEvents, env.NATS_URL);
      throw e;
    })
    .finally(() => clearTimeout(timer));

  return {
    name,
    id: entry.id as string,
    http: entry.http as string,
    grpc: entry.grpc as string | undefined,
    ops: entry.ops as string | undefined,
    proc,
    logs,
    stderr: () => stderr,
    async stop(signal = "SIGTERM") {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      const killer = setTimeout(() => proc.kill("SIGKILL"), 15_000);
      const code = await proc.exited;
      clearTimeout(killer);
      if (ownEvents) await dropEventStreams(ownEvents, env.NATS_URL);
      return code;
    },
  };
}

/** Polls `condition` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor<T>(
  condition: () => T | Promise<T>,
  { timeoutMs = 5000, intervalMs = 25, what = "condition" } = {},
): Promise<Exclude<T, undefined | null | false | 0 | "">> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await condition();
      if (value) return value as Exclude<T, undefined | null | false | 0 | "">;
    } catch (e) {
      last = e;
    }
    await Bun.sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last}` : ""}`);
}

/** Deletes every stream (and the error bucket) a service made under an events prefix. */
export async function dropEventStreams(
  prefix: string,
  natsUrl = process.env.NATS_URL ?? "nats://127.0.0.1:4222",
): Promise<void> {
  const nc = await connect({ servers: natsUrl.split(",") });
  try {
    await deleteStreams(await jetstreamManager(nc), new EventNames(prefix));
  } finally {
    await nc.close();
  }
}
