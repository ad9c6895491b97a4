import type { DescMethod } from "@bufbuild/protobuf";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Metrics } from "../metrics";
import { activeExemplar } from "../tracing";

/**
 * Records the duration and result code of every call in rpc_server_duration_seconds, and the totals
 * that $SRV.STATS reports. While the service traces, a call of a sampled trace leaves its trace as the
 * exemplar of its bucket.
 */
export function metricsInterceptor(metrics: Metrics): Interceptor {
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
      const exemplar = metrics.exemplars ? activeExemplar() : undefined;
      if (exemplar?.trace_id) observeWithTrace(metrics, m.method, "ok", started, exemplar);
      else m.ok.observe((performance.now() - started) / 1000);
      return res;
    } catch (e) {
      metrics.rpcTotals.errors++;
      const code = Code[ConnectError.from(e).code];
      // With exemplars on, the histogram takes only the object form (an empty exemplar is not kept).
      if (metrics.exemplars) observeWithTrace(metrics, m.method, code, started, activeExemplar());
      else metrics.rpcDuration.observe({ method: m.method, code }, (performance.now() - started) / 1000);
      throw e;
    } finally {
      metrics.rpcInFlight.dec();
    }
  };
}

/** prom-client's object form of observe, the one that keeps an exemplar. */
function observeWithTrace(
  metrics: Metrics,
  method: string,
  code: string,
  started: number,
  exemplarLabels: Record<string, string>,
): void {
  metrics.rpcDuration.observe({
    labels: { method, code },
    value: (performance.now() - started) / 1000,
    exemplarLabels,
  });
}
