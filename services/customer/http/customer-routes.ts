import type { Hono } from "hono";
import { type KitEnv, jsonBody, restError } from "../../kit/http";
import { isUuid } from "../../kit";
import { parseEmail, parseRegistration, type Customer } from "../domain/customer";
import type { CustomerStore } from "../domain/customer-store";

const toJson = (c: Customer) => ({ id: c.id, email: c.email, name: c.name, createdAt: c.createdAt.toISOString() });

/**
 * POST /v1/customers registers a customer; GET /v1/customers/:id fetches one;
 * GET /v1/customers?email=<address> finds one by e-mail (so a caller can register idempotently).
 */
export function customerRoutes(store: CustomerStore) {
  return (app: Hono<KitEnv>) => {
    app.post("/v1/customers", async (c) => {
      const body = await jsonBody(c);
      if (body instanceof Response) return body;
      const parsed = parseRegistration(body);
      if ("problems" in parsed) return restError(c, 400, "invalid_argument", parsed.problems.join("; "));
      const customer = await store.insert({ id: crypto.randomUUID(), ...parsed, createdAt: new Date() });
      if (!customer) return restError(c, 409, "already_exists", `a customer with email ${parsed.email} exists`);
      return c.json(toJson(customer), 201);
    });
    // Exact lookup only: there is no listing of every customer.
    app.get("/v1/customers", async (c) => {
      const parsed = parseEmail(c.req.query("email"));
      if ("problem" in parsed) return restError(c, 400, "invalid_argument", parsed.problem);
      const customer = await store.findByEmail(parsed.email);
      if (!customer) return restError(c, 404, "not_found", `no customer with email ${parsed.email}`);
      return c.json(toJson(customer));
    });
    app.get("/v1/customers/:id", async (c) => {
      const id = c.req.param("id");
      if (!isUuid(id)) return restError(c, 400, "invalid_argument", "id must be a UUID");
      const customer = await store.get(id);
      if (!customer) return restError(c, 404, "not_found", `customer ${id} not found`);
      return c.json(toJson(customer));
    });
  };
}
