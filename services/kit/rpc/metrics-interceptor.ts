import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Metrics } from "../metrics";

/** Records the duration and result code of every call in rpc_server_duration_seconds,
 * and the totals that $SRV.STATS reports. */
export function metricsInterceptor(metrics: Metrics): Interceptor {
  return (next) => async (req) => {
    metrics.rpcTotals.requests++;
    metrics.rpcInFlight.inc();
    const end = metrics.rpcDuration.startTimer({ method: `${req.service.typeName}/${req.method.name}` });
    try {
      const res = await next(req);
      end({ code: "ok" });
      return res;
    } catch (e) {
      metrics.rpcTotals.errors++;
      end({ code: Code[ConnectError.from(e).code] });
      throw e;
    } finally {
      metrics.rpcInFlight.dec();
    }
  };
}
