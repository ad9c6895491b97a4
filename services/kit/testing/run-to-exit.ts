import { join } from "node:path";

const ROOT = join(import.meta.dir, "../../..");

/** What a command printed and how it ended. */
export interface CommandRun {
  stdout: string;
  stderr: string;
  code: number;
}

/**
 * Runs a command to its end (from the repository's root, with this process's environment and `env` over
 * it) and answers what it printed and its exit code; one still running after `timeoutMs` is killed, so a
 * command that hangs fails its test with its output instead of holding the suite.
 *
 * @example
 *   const { stdout, stderr, code } = await runToExit(["bun", "cli/dlq.ts", "list"], { env: ev.env });
 */
export async function runToExit(
  command: string[],
  { env = {}, cwd = ROOT, timeoutMs = 60_000 }: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {},
): Promise<CommandRun> {
  const proc = Bun.spawn(command, { cwd, env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
  const killer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
  try {
    const [stdout, stderr, code] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ]);
    return { stdout, stderr, code };
  } finally {
    clearTimeout(killer);
  }
}
