import type { DescMethod } from "@bufbuild/protobuf";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Metrics } from "../metrics";
import { activeExemplar } from "../tracing";

/** Records the duration and result code of every call in rpc_server_duration_seconds,
 * and the totals that $SRV.STATS reports. */
export function metricsInterceptor(metrics: Metrics): Interceptor {
  if (metrics.exemplars) return exemplarInterceptor(metrics);
  // The label and the series of a successful call, per method, made once: prom-client hashes labels on every observe.
  const perMethod = new WeakMap<DescMethod, { method: string; ok: { observe(seconds: number): void } }>();
  return (next) => async (req) => {
    let m = perMethod.get(req.method);
    if (!m) {
      const method = `${req.service.typeName}/${req.method.name}`;
      m = { method, ok: metrics.rpcDuration.labels({ method, code: "ok" }) };
      perMethod.set(req.method, m);
    }
    metrics.rpcTotals.requests++;
    metrics.rpcInFlight.inc();
    const started = performance.now();
    try {
      const res = await next(req);
      m.ok.observe((performance.now() - started) / 1000);
      return res;
    } catch (e) {
      metrics.rpcTotals.errors++;
      metrics.rpcDuration.observe(
        { method: m.method, code: Code[ConnectError.from(e).code] },
        (performance.now() - started) / 1000,
      );
      throw e;
    } finally {
      metrics.rpcInFlight.dec();
    }
  };
}

/** The same, each observation with the call's trace as its exemplar (prom-client's object form of observe). */
function exemplarInterceptor(metrics: Metrics): Interceptor {
  return (next) => async (req) => {
    const method = `${req.service.typeName}/${req.method.name}`;
    metrics.rpcTotals.requests++;
    metrics.rpcInFlight.inc();
    const started = performance.now();
    let code = "ok";
    try {
      return await next(req);
    } catch (e) {
      metrics.rpcTotals.errors++;
      code = Code[ConnectError.from(e).code];
      throw e;
    } finally {
      metrics.rpcInFlight.dec();
      metrics.rpcDuration.observe({
        labels: { method, code },
        value: (performance.now() - started) / 1000,
        exemplarLabels: activeExemplar(),
      });
    }
  };
}
