import { Code, ConnectError } from "@connectrpc/connect";
import type { Hono } from "hono";
import { type Logger, isUuid } from "../../kit";
import type { CustomerTokens } from "../auth/tokens";
import { decideAccess } from "../domain/caller";
import { errorResponseRef, jsonContent, jsonRequestBody } from "../openapi/openapi-document";
import { accessRefused, apiError, errorResponse } from "./api-error";
import type { GatewayEnv } from "./gateway-env";

/** fetch() against the customer REST service (ctx.clients.rest("customer") in production). */
export type CustomerFetch = (path: string, init?: RequestInit) => Promise<Response>;

const CODE_BY_NAME: Record<string, Code> = Object.fromEntries(
  Object.entries(Code)
    .filter(([, v]) => typeof v === "number")
    .map(([k, v]) => [k.replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase(), v as Code]),
);

const CODE_BY_STATUS: Record<number, Code> = {
  400: Code.InvalidArgument,
  401: Code.Unauthenticated,
  403: Code.PermissionDenied,
  404: Code.NotFound,
  409: Code.AlreadyExists,
  429: Code.ResourceExhausted,
  503: Code.Unavailable,
  504: Code.DeadlineExceeded,
};

/**
 * The customer service answers `{"error":{"code":"invalid_argument","message"}}`; the gateway's
 * clients get its own shape. Its 5xx details stay inside.
 */
async function customerError(res: Response): Promise<ConnectError> {
  const body = (await res.json().catch(() => undefined)) as { error?: { code?: string; message?: string } } | undefined;
  const code = CODE_BY_NAME[body?.error?.code ?? ""] ?? CODE_BY_STATUS[res.status] ?? Code.Internal;
  const message =
    res.status < 500 && body?.error?.message ? body.error.message : `the customer service answered ${res.status}`;
  return new ConnectError(message, code);
}

/**
 * How customers get a token. POST /v1/customers (public) registers through the customer service and
 * answers the customer with a token for it; GET /v1/customers/me answers the caller's customer;
 * POST /v1/tokens (admin) mints a token for an existing customer, by id or by e-mail.
 */
export function customerRoutes({
  customerFetch,
  tokens,
  log,
}: {
  customerFetch: CustomerFetch;
  tokens: CustomerTokens;
  log: Logger;
}) {
  const fetchCustomer = async (id: string) => {
    const res = await customerFetch(`/v1/customers/${encodeURIComponent(id)}`, {
      headers: { accept: "application/json" },
    });
    if (!res.ok) throw await customerError(res);
    return (await res.json()) as { id: string };
  };

  const findCustomerByEmail = async (email: string) => {
    const res = await customerFetch(`/v1/customers?email=${encodeURIComponent(email)}`, {
      headers: { accept: "application/json" },
    });
    if (!res.ok) throw await customerError(res);
    return (await res.json()) as { id: string };
  };

  return (app: Hono<GatewayEnv>) => {
    app.post("/v1/customers", async (c) => {
      try {
        const res = await customerFetch("/v1/customers", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: await c.req.text(),
        });
        if (!res.ok) throw await customerError(res);
        const customer = (await res.json()) as { id: string };
        return c.json({ customer, ...(await tokens.mint(customer.id)) }, 201);
      } catch (e) {
        return errorResponse(c, e, log);
      }
    });

    app.get("/v1/customers/me", async (c) => {
      const caller = c.get("caller");
      const access = decideAccess(caller, "customer");
      if (!access.allowed)
        return apiError(Code.Unauthenticated, "a customer bearer token is required", {
          headers: { "www-authenticate": 'Bearer realm="shop"' },
        });
      if (caller.kind !== "customer") return apiError(Code.PermissionDenied, "an admin has no customer of its own");
      try {
        return c.json(await fetchCustomer(caller.customerId));
      } catch (e) {
        return errorResponse(c, e, log);
      }
    });

    app.post("/v1/tokens", async (c) => {
      const access = decideAccess(c.get("caller"), "admin");
      if (!access.allowed) return accessRefused(access);
      let body: unknown;
      try {
        body = JSON.parse((await c.req.text()) || "{}");
      } catch {
        return apiError(Code.InvalidArgument, "the body is not valid JSON");
      }
      const fields = (body ?? {}) as Record<string, unknown>;
      const given = fields.customerId ?? fields.customer_id;
      const email = fields.email;
      // By e-mail: how a client that signed up before (409 on a second sign-up) gets a token again.
      if (given === undefined && typeof email === "string" && email !== "") {
        try {
          const customer = await findCustomerByEmail(email);
          return c.json({ customerId: customer.id, ...(await tokens.mint(customer.id)) }, 201);
        } catch (e) {
          return errorResponse(c, e, log);
        }
      }
      if (typeof given !== "string" || given === "")
        return apiError(Code.InvalidArgument, "customerId (or email) is required");
      if (!isUuid(given)) return apiError(Code.InvalidArgument, "customerId must be a UUID");
      try {
        const customer = await fetchCustomer(given);
        return c.json({ customerId: customer.id, ...(await tokens.mint(customer.id)) }, 201);
      } catch (e) {
        return errorResponse(c, e, log);
      }
    });
  };
}

const customerSchema = {
  type: "object",
  properties: {
    id: { type: "string", format: "uuid" },
    email: { type: "string", format: "email" },
    name: { type: "string" },
    createdAt: { type: "string", format: "date-time" },
  },
};
const tokenProperties = {
  token: { type: "string", description: "Bearer token (JWT)" },
  expiresAt: { type: "string", format: "date-time" },
};

/** The OpenAPI operations of these hand-written routes. */
export const customerOpenApiPaths = {
  "/v1/customers": {
    post: {
      operationId: "RegisterCustomer",
      tags: ["Customers"],
      summary: "Register a customer and get a token for it",
      security: [],
      requestBody: jsonRequestBody({ email: { type: "string", format: "email" }, name: { type: "string" } }),
      responses: {
        "201": {
          description: "Registered",
          content: jsonContent({ type: "object", properties: { customer: customerSchema, ...tokenProperties } }),
        },
        "400": errorResponseRef("Bad input"),
        "409": errorResponseRef("The e-mail address is taken"),
        "429": errorResponseRef("Rate limit exceeded"),
      },
    },
  },
  "/v1/customers/me": {
    get: {
      operationId: "GetMyCustomer",
      tags: ["Customers"],
      summary: "The customer the bearer token belongs to",
      security: [{ bearerAuth: [] }],
      responses: {
        "200": { description: "OK", content: jsonContent(customerSchema) },
        "401": errorResponseRef("No or bad token"),
        "403": errorResponseRef("Not a customer"),
      },
    },
  },
  "/v1/tokens": {
    post: {
      operationId: "MintCustomerToken",
      tags: ["Customers"],
      summary: "Mint a token for an existing customer, by id or by e-mail (admin)",
      security: [{ adminApiKey: [] }],
      requestBody: jsonRequestBody({
        customerId: { type: "string", format: "uuid" },
        email: { type: "string", format: "email", description: "instead of customerId" },
      }),
      responses: {
        "201": {
          description: "Minted",
          content: jsonContent({
            type: "object",
            properties: { customerId: { type: "string", format: "uuid" }, ...tokenProperties },
          }),
        },
        "400": errorResponseRef("Bad input"),
        "401": errorResponseRef("No or bad API key"),
        "403": errorResponseRef("Not an admin"),
        "404": errorResponseRef("No such customer"),
      },
    },
  },
};
