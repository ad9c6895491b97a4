import type { Hono } from "hono";
import type { KitEnv } from "../../kit/http/app";
import { restError } from "../../kit/http/rest-error";
import type { ProfileStore } from "../domain/profiles";
import { isUuid } from "../../kit/ids";


/** GET /v1/profiles/:customerId: a customer's behaviour profile. */
export function profileRoutes(store: ProfileStore) {
  return (app: Hono<KitEnv>) => {
    app.get("/v1/profiles/:customerId", async (c) => {
      const id = c.req.param("customerId");
      if (!isUuid(id)) return restError(c, 400, "invalid_argument", "customerId must be a UUID");
      const p = await store.get(id);
      if (!p) return restError(c, 404, "not_found", `no profile for customer ${id}`);
      return c.json({ ...p, spentMinor: p.spentMinor.toString(), lastActivity: p.lastActivity.toISOString() });
    });
  };
}
