import { createServer } from "node:net";

/** A port a service is about to listen on, with the variable that sets it. */
export interface PortToCheck {
  variable: string;
  host: string;
  port: number;
}

/** Thrown when a configured port is taken: names the variable to change. */
export class PortInUseError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join("; "));
    this.name = "PortInUseError";
  }
}

/**
 * Checks, before a service does anything slow (NATS, migrations, consumers), that the ports it will
 * listen on are free, so a second instance with the same ports stops at once naming the variable to
 * change. Port 0 (a free one, picked at listen) is not checked. Not a reservation: a port taken between
 * this check and the listen still fails there, and that error names the variable too (listenError).
 */
export async function assertPortsFree(ports: readonly PortToCheck[]): Promise<void> {
  const problems: string[] = [];
  for (const p of ports) {
    if (p.port === 0) continue;
    const error = await tryListen(p.host, p.port);
    if (error) problems.push(portProblem(p, error));
  }
  if (problems.length) throw new PortInUseError(problems);
}

/** The error of a listener that failed on its port, with the variable that set it. */
export function listenError(p: PortToCheck, e: unknown): Error {
  const code = (e as { code?: unknown } | undefined)?.code;
  const message = e instanceof Error ? e.message : String(e);
  return new PortInUseError([portProblem(p, typeof code === "string" ? code : message)]);
}

function portProblem({ variable, host, port }: PortToCheck, error: string): string {
  return error === "EADDRINUSE" || /in use/i.test(error)
    ? `${variable}=${port}: port ${port} on ${host} is in use (another instance running? ${variable}=0 picks a free port)`
    : `${variable}=${port}: cannot listen on ${host}:${port}: ${error}`;
}

function tryListen(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}
