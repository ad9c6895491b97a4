import type { Hono } from "hono";
import type { Metrics } from "../metrics";

/** Named dependency checks; each throws (or rejects) when its dependency is unreachable. */
export type Readiness = { ready(): boolean; checks: Record<string, () => Promise<void> | void> };

const CHECK_TIMEOUT_MS = 2000;

/** /healthz: the process answers. /readyz: every dependency answers. /metrics: Prometheus text. */
export function probeRoutes(app: Hono<any>, readiness: Readiness, metrics: Metrics): void {
  app.get("/healthz", (c) => c.json({ status: "alive" }));
  app.get("/readyz", async (c) => {
    const results = await Promise.all(
      Object.entries(readiness.checks).map(async ([name, check]) => {
        try {
          await withTimeout(Promise.resolve(check()), CHECK_TIMEOUT_MS);
          return [name, "ok"] as const;
        } catch (e) {
          return [name, e instanceof Error ? e.message : String(e)] as const;
        }
      }),
    );
    const ok = readiness.ready() && results.every(([, r]) => r === "ok");
    return c.json(
      { status: ok ? "ready" : readiness.ready() ? "unavailable" : "stopping", checks: Object.fromEntries(results) },
      ok ? 200 : 503,
    );
  });
  app.get("/metrics", async (c) =>
    c.body(await metrics.registry.metrics(), 200, { "content-type": metrics.registry.contentType }),
  );
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms))),
  ]);
}
