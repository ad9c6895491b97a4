// The OpenAPI document shows the constraints the services enforce: the protos' buf.validate rules.
import { expect, test } from "bun:test";
import { EXPOSED_METHODS } from "../domain/exposed-methods";
import { httpRoutes } from "../transcoding/http-routes";
import { openApiDocument } from "./openapi-document";

const doc = openApiDocument({ title: "shop", version: "test", routes: httpRoutes(EXPOSED_METHODS) }) as any;
const schema = (name: string) => doc.components.schemas[name];

test("required fields, lengths, patterns, UUIDs, allowed values and ranges come from the rules", () => {
  expect(schema("shop.order.v1.CreateOrderRequest")).toMatchObject({
    required: ["customerId"],
    properties: {
      customerId: { type: "string", format: "uuid", minLength: 1 },
      items: { type: "array", minItems: 1, maxItems: 50 },
      currency: { type: "string", enum: ["EUR", "USD", "GBP"] },
    },
  });
  expect(schema("shop.order.v1.LineItem").properties).toMatchObject({
    productId: { pattern: "^[a-z0-9][a-z0-9-]{0,63}$" },
    quantity: { type: "integer", exclusiveMinimum: 0, maximum: 1000 },
  });
  expect(schema("shop.inventory.v1.Product")).toMatchObject({
    required: ["id", "name", "price"],
    properties: {
      name: {
        minLength: 1,
        maxLength: 200,
        description: expect.stringContaining("must not contain control characters"),
      },
      stock: { minimum: 0, maximum: 1_000_000_000 },
    },
  });
  // 64-bit integers are strings in proto3 JSON: their bounds are said in words.
  expect(schema("shop.common.v1.Money").properties.amountMinor.description).toBe(
    "Rules: greater than 0; at most 1000000000.",
  );
});

test("a body need not repeat what its path carries: PUT /v1/products/{product_id} requires name and price", () => {
  const body = doc.paths["/v1/products/{product_id}"].put.requestBody.content["application/json"].schema;
  expect(body).toMatchObject({ title: "Product", required: ["name", "price"] });
  expect(body.properties.name).toMatchObject({ maxLength: 200 });
});

test("path and query parameters carry their rules too; a field without rules has none", () => {
  const params = doc.paths["/v1/customers/{customer_id}/orders"].get.parameters;
  expect(params).toEqual([
    { name: "customer_id", in: "path", required: true, schema: { type: "string", format: "uuid", minLength: 1 } },
    {
      name: "page_size",
      in: "query",
      required: false,
      schema: { type: "integer", format: "int32", minimum: 0, maximum: 100 },
    },
    { name: "page_token", in: "query", required: false, schema: { type: "string" } },
  ]);
});
