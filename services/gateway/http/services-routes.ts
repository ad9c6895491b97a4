import type { NatsConnection } from "@nats-io/transport-node";
import type { Hono } from "hono";
import { listInstances } from "../../kit/nats";
import { decideAccess } from "../domain/caller";
import { errorResponseRef, jsonContent } from "../openapi/openapi-document";
import { accessRefused } from "./api-error";
import type { GatewayEnv } from "./gateway-env";

/**
 * GET /v1/services: what is running in this platform's namespace, as the NATS services API sees it.
 * Admins only: it shows every instance's internal URLs and call counts. Only registrations signed by
 * the service they name are listed (anyone on the bus may answer a listing).
 */
export function servicesRoutes(
  nc: NatsConnection,
  namespace: string,
  trusted?: (info: { name: string; metadata?: Record<string, string> }) => boolean,
) {
  return (app: Hono<GatewayEnv>) => {
    app.get("/v1/services", async (c) => {
      const access = decideAccess(c.get("caller"), "admin");
      if (!access.allowed) return accessRefused(access);
      return c.json({ instances: await listInstances(nc, { namespace, stats: true, trusted }) });
    });
  };
}

export const servicesOpenApiPaths = {
  "/v1/services": {
    get: {
      operationId: "ListServiceInstances",
      tags: ["Platform"],
      summary: "Every running service instance, from the NATS services API (admin)",
      security: [{ adminApiKey: [] }],
      responses: {
        "200": {
          description: "OK",
          content: jsonContent({
            type: "object",
            properties: { instances: { type: "array", items: { type: "object" } } },
          }),
        },
        "401": errorResponseRef("No or bad API key"),
        "403": errorResponseRef("Not an admin"),
      },
    },
  },
};
