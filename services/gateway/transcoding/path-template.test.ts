import { describe, expect, test } from "bun:test";
import { matchPath, openApiPath, parsePathTemplate, PathTemplateError, specificity } from "./path-template";

const match = (template: string, path: string) => matchPath(parsePathTemplate(template), path);

describe("parsePathTemplate", () => {
  test("literals, variables, nested field paths and a verb", () => {
    const t = parsePathTemplate("/v1/products/{product.id}:touch");
    expect(t.segments).toEqual([
      { kind: "literal", value: "v1" },
      { kind: "literal", value: "products" },
      { kind: "one" },
    ]);
    expect(t.variables).toEqual([{ fieldPath: ["product", "id"], start: 2, end: 3 }]);
    expect(t.verb).toBe("touch");
  });

  test("a verb on a literal segment", () => {
    const t = parsePathTemplate("/v1/inventory:check");
    expect(t.segments).toEqual([
      { kind: "literal", value: "v1" },
      { kind: "literal", value: "inventory" },
    ]);
    expect(t.verb).toBe("check");
  });

  test("a variable over several segments", () => {
    const t = parsePathTemplate("/v1/{name=shelves/*/books/*}");
    expect(t.variables).toEqual([{ fieldPath: ["name"], start: 1, end: 5 }]);
  });

  for (const bad of ["v1/x", "/v1//x", "/v1/{a", "/v1/{a.}", "/v1/{a=**}/x", "/v1/x:a/b", "/v1/{a}/{a}", "/v1/**/x"]) {
    test(`rejects ${bad}`, () => {
      expect(() => parsePathTemplate(bad)).toThrow(PathTemplateError);
    });
  }
});

describe("matchPath", () => {
  test("binds a single segment, percent-decoded", () => {
    expect(match("/v1/products/{product_id}", "/v1/products/sku-mug")).toEqual({ product_id: "sku-mug" });
    expect(match("/v1/products/{product_id}", "/v1/products/a%20b%2Fc")).toEqual({ product_id: "a b/c" });
  });

  test("a nested field path is bound under its dotted name", () => {
    expect(match("/v1/products/{product.id}", "/v1/products/sku-1")).toEqual({ "product.id": "sku-1" });
  });

  test("wrong literals, missing or extra segments, empty segments do not match", () => {
    const t = "/v1/products/{product_id}";
    expect(match(t, "/v1/product/sku")).toBeUndefined();
    expect(match(t, "/v1/products")).toBeUndefined();
    expect(match(t, "/v1/products/")).toBeUndefined();
    expect(match(t, "/v1/products/a/b")).toBeUndefined();
    expect(match(t, "/v2/products/a")).toBeUndefined();
  });

  test("custom verbs must be there, and only the template's verb", () => {
    const t = "/v1/orders/{order_id}:confirm";
    expect(match(t, "/v1/orders/o-1:confirm")).toEqual({ order_id: "o-1" });
    expect(match(t, "/v1/orders/o-1:cancel")).toBeUndefined();
    expect(match(t, "/v1/orders/o-1")).toBeUndefined();
    expect(match("/v1/inventory:check", "/v1/inventory:check")).toEqual({});
    expect(match("/v1/inventory:check", "/v1/inventory")).toBeUndefined();
    // Without a verb in the template a colon is just part of the value.
    expect(match("/v1/orders/{order_id}", "/v1/orders/o-1:confirm")).toEqual({ order_id: "o-1:confirm" });
  });

  test("** takes the rest of the path and keeps an encoded slash", () => {
    const t = "/v1/files/{path=**}";
    expect(match(t, "/v1/files/a/b%2Fc/d")).toEqual({ path: "a/b%2Fc/d" });
    expect(match(t, "/v1/files")).toEqual({ path: "" });
    expect(match("/v1/files/{path=**}:stat", "/v1/files/a/b:stat")).toEqual({ path: "a/b" });
  });

  test("multi-segment variables with literals inside", () => {
    const t = "/v1/{name=shelves/*/books/*}";
    expect(match(t, "/v1/shelves/s1/books/b%201")).toEqual({ name: "shelves/s1/books/b 1" });
    expect(match(t, "/v1/shelves/s1/papers/b1")).toBeUndefined();
  });

  test("two variables", () => {
    expect(match("/v1/customers/{customer_id}/orders/{order_id}", "/v1/customers/c/orders/o")).toEqual({
      customer_id: "c",
      order_id: "o",
    });
  });

  test("malformed percent-encoding matches nothing", () => {
    expect(match("/v1/products/{product_id}", "/v1/products/%E0%A4%A")).toBeUndefined();
  });
});

test("literal and verb templates rank above variable ones", () => {
  const rank = (t: string) => specificity(parsePathTemplate(t));
  expect(rank("/v1/customers/me")).toBeGreaterThan(rank("/v1/customers/{customer_id}"));
  expect(rank("/v1/orders/{id}:confirm")).toBeGreaterThan(rank("/v1/orders/{id}"));
  expect(rank("/v1/a/{x}")).toBeGreaterThan(rank("/v1/{x=**}"));
});

test("openApiPath keeps simple variables and names multi-segment ones", () => {
  expect(openApiPath(parsePathTemplate("/v1/products/{product.id}"))).toBe("/v1/products/{product.id}");
  expect(openApiPath(parsePathTemplate("/v1/orders/{order_id}:confirm"))).toBe("/v1/orders/{order_id}:confirm");
  expect(openApiPath(parsePathTemplate("/v1/{name=shelves/*}"))).toBe("/v1/{name}");
});
