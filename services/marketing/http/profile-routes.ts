import type { Hono } from "hono";
import { type KitEnv, restError } from "../../kit/http";
import { isUuid } from "../../kit";
import { segmentsOf, type CustomerProfile } from "../domain/profiles";

/** GET /v1/profiles/:customerId: a customer's behaviour profile, with the segments it falls in now. */
export function profileRoutes(getProfile: (customerId: string) => Promise<CustomerProfile | undefined>) {
  return (app: Hono<KitEnv>) => {
    app.get("/v1/profiles/:customerId", async (c) => {
      const id = c.req.param("customerId");
      if (!isUuid(id)) return restError(c, 400, "invalid_argument", "customerId must be a UUID");
      const p = await getProfile(id);
      if (!p) return restError(c, 404, "not_found", `no profile for customer ${id}`);
      return c.json({
        customerId: p.customerId,
        registeredAt: p.registeredAt?.toISOString() ?? null,
        orders: {
          placed: p.ordersPlaced,
          confirmed: p.ordersConfirmed,
          cancelled: p.ordersCancelled,
          paymentFailed: p.paymentFailures,
        },
        // Minor units as strings, like every amount in the platform's JSON (int64).
        spent: p.spent.map((s) => ({ currency: s.currency, amountMinor: s.amountMinor.toString() })),
        lastActivity: p.lastActivity.toISOString(),
        segments: segmentsOf(p, new Date()),
      });
    });
  };
}
