import type { NatsConnection } from "@nats-io/transport-node";
import type { Hono } from "hono";
import { listInstances } from "../../kit/nats/service-directory";
import type { GatewayEnv } from "./gateway-env";

/** GET /v1/services: what is running in this platform's namespace, as the NATS services API sees it. */
export function servicesRoutes(nc: NatsConnection, namespace: string) {
  return (app: Hono<GatewayEnv>) => {
    app.get("/v1/services", async (c) => c.json({ instances: await listInstances(nc, { namespace, stats: true }) }));
  };
}

export const servicesOpenApiPaths = {
  "/v1/services": {
    get: {
      operationId: "ListServiceInstances",
      tags: ["Platform"],
      summary: "Every running service instance, from the NATS services API",
      security: [],
      responses: { "200": { description: "OK", content: { "application/json": { schema: { type: "object", properties: { instances: { type: "array", items: { type: "object" } } } } } } } },
    },
  },
};
