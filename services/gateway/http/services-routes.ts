import type { NatsConnection } from "@nats-io/transport-node";
import type { Hono } from "hono";
import type { KitEnv } from "../../kit/http/app";
import { listInstances } from "../../kit/nats/service-directory";

/** GET /v1/services: what is running in this platform's namespace, as the NATS services API sees it. */
export function servicesRoutes(nc: NatsConnection, namespace: string) {
  return (app: Hono<KitEnv>) => {
    app.get("/v1/services", async (c) => c.json({ instances: await listInstances(nc, { namespace, stats: true }) }));
  };
}
