import type { Transport } from "@connectrpc/connect";
import { version } from "../../package.json";
import { serviceFetch, serviceTransport } from "../kit/rpc/service-client";
import { runService } from "../kit/service";
import { gatewayConfig } from "./config";
import { EXPOSED_METHODS } from "./domain/exposed-methods";
import { gatewayRoutes } from "./http/gateway-routes";

await runService({
  name: "gateway",
  version,
  description: "The client-facing REST API",
  ports: { http: 8080 },
  build: ({ env, nats, namespace, services, log, metrics }) => {
    const config = gatewayConfig(env);
    const transports = new Map<string, Transport>();
    const transportFor = (name: string) => transports.get(name) ?? transports.set(name, serviceTransport(services, name)).get(name)!;
    return {
      rest: gatewayRoutes({
        config,
        exposed: EXPOSED_METHODS,
        transportFor,
        customerFetch: serviceFetch(services, "customer"),
        directory: { nats, namespace },
        log,
        version,
        registry: metrics.registry,
      }),
    };
  },
});
