import type { ConnectRouter } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../contracts/gen/health/v1/health_pb";

export { Status as ServingStatus };

/**
 * The serving status behind grpc.health.v1.Health. The empty name is the whole server; each Connect
 * service is also known by its full name. Watchers are told of every change.
 */
export class HealthStatus {
  private readonly status = new Map<string, Status>();
  private readonly watchers = new Set<() => void>();
  private changes = 0;
  private closed = false;

  constructor(serviceNames: string[]) {
    for (const name of ["", ...serviceNames]) this.status.set(name, Status.NOT_SERVING);
  }

  setAll(status: Status): void {
    for (const name of this.status.keys()) this.status.set(name, status);
    this.changes++;
    for (const notify of this.watchers) notify();
  }

  /** NOT_SERVING for everyone, then every Watch stream ends, so open watches do not hold up a graceful stop. */
  shutdown(): void {
    this.closed = true;
    this.setAll(Status.NOT_SERVING);
  }

  get(name: string): Status | undefined {
    return this.status.get(name);
  }

  names(): string[] {
    return [...this.status.keys()];
  }

  /** Yields the status now and again on every change, until the signal aborts or the server shuts down. */
  async *watch(name: string, signal: AbortSignal): AsyncGenerator<Status> {
    let wake: (() => void) | undefined;
    const notify = () => wake?.();
    this.watchers.add(notify);
    signal.addEventListener("abort", notify);
    try {
      let last: Status | undefined;
      while (!signal.aborted) {
        const seen = this.changes;
        const now = this.status.get(name) ?? Status.SERVICE_UNKNOWN;
        if (now !== last) yield (last = now);
        if (this.closed && seen === this.changes) return;
        if (seen !== this.changes) continue; // changed while the consumer held the last value
        await new Promise<void>((resolve) => (wake = resolve));
      }
    } finally {
      this.watchers.delete(notify);
      signal.removeEventListener("abort", notify);
    }
  }
}

export function healthRoutes(health: HealthStatus) {
  return (router: ConnectRouter) =>
    router.service(Health, {
      check(req) {
        const status = health.get(req.service);
        if (status === undefined) throw new ConnectError(`unknown service "${req.service}"`, Code.NotFound);
        return { status };
      },
      async *watch(req, ctx) {
        for await (const status of health.watch(req.service, ctx.signal)) yield { status };
      },
      list() {
        const statuses: Record<string, { status: Status }> = {};
        for (const name of health.names()) statuses[name] = { status: health.get(name)! };
        return { statuses };
      },
    });
}
