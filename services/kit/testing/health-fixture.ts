import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../contracts/gen/health/v1/health_pb";

/**
 * grpc.health.v1.Health with a Check for protocol tests, by the service asked about: "" answers SERVING
 * with a response header (x-served-by) and a trailer (x-done); "slow" waits until the call's signal
 * aborts, then fails DeadlineExceeded; "crash" throws a plain Error; anything else is NotFound with
 * metadata (x-why).
 */
export function healthFixtureRoutes(router: ConnectRouter): ConnectRouter {
  return router.service(Health, {
    async check(req, ctx) {
      if (req.service === "slow") {
        await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve, { once: true }));
        throw new ConnectError("gave up", Code.DeadlineExceeded);
      }
      if (req.service === "crash") throw new Error("boom");
      if (req.service !== "")
        throw new ConnectError(`unknown service ${req.service}`, Code.NotFound, { "x-why": "unknown" });
      ctx.responseHeader.set("x-served-by", "test");
      ctx.responseTrailer.set("x-done", "1");
      return { status: Status.SERVING };
    },
    async list() {
      return { statuses: {} };
    },
    async *watch() {},
  });
}
