import { version } from "../../package.json";
import { runService } from "../kit/service";
import { servicesRoutes } from "./http/services-routes";

await runService({
  name: "gateway",
  version,
  description: "The client-facing REST API",
  ports: { http: 8080 },
  build: ({ nats, namespace }) => ({ rest: servicesRoutes(nats, namespace) }),
});
