import { version } from "../../package.json";
import { runService } from "../kit";
import { gatewayConfig } from "./config";
import { EXPOSED_METHODS } from "./domain/exposed-methods";
import { gatewayRoutes } from "./http/gateway-routes";

await runService({
  name: "gateway",
  version,
  description: "The client-facing REST API",
  // The HTTP port is public: probes, metrics and RPC health answer on the operations port (loopback by default).
  ports: { http: 8080, ops: 9080 },
  build: ({ env, nats, namespace, clients, log, metrics, trustedRegistration }) => {
    const config = gatewayConfig(env);
    return {
      rest: gatewayRoutes({
        config,
        exposed: EXPOSED_METHODS,
        transportFor: clients.transport,
        customerFetch: clients.rest("customer"),
        directory: { nats, namespace, trusted: trustedRegistration },
        log,
        version,
        registry: metrics.registry,
      }),
    };
  },
});
