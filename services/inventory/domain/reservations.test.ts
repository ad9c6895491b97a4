import { describe, expect, test } from "bun:test";
import {
  commitStep,
  itemsProblem,
  MAX_ITEMS,
  releaseStep,
  reserveProblem,
  resolveTtlSeconds,
  unitsByProduct,
  type ReservationState,
} from "./reservations";

const ok = { orderId: "o-1", items: [{ productId: "sku-mug", quantity: 1 }], ttlSeconds: 0 };

describe("reserveProblem names the proto field that is wrong", () => {
  const cases: [string, Partial<typeof ok>, string][] = [
    ["missing order id", { orderId: "" }, "order_id is required"],
    ["malformed order id", { orderId: "o 1" }, "order_id must be"],
    ["negative ttl", { ttlSeconds: -1 }, "ttl_seconds must not be negative"],
    ["ttl over an hour", { ttlSeconds: 3601 }, "ttl_seconds must be at most 3600"],
    ["no items", { items: [] }, "items must not be empty"],
    ["missing product id", { items: [{ productId: "", quantity: 1 }] }, "items[0].product_id is required"],
    ["malformed product id", { items: [{ productId: "SKU Mug", quantity: 1 }] }, "items[0].product_id must be"],
    ["zero quantity", { items: [{ productId: "a", quantity: 0 }] }, "items[0].quantity must be positive"],
    [
      "negative quantity",
      {
        items: [
          { productId: "a", quantity: 1 },
          { productId: "b", quantity: -2 },
        ],
      },
      "items[1].quantity must be positive",
    ],
    ["too many units", { items: [{ productId: "a", quantity: 1001 }] }, "items[0].quantity must be at most 1000"],
    [
      "a product twice",
      {
        items: [
          { productId: "a", quantity: 1 },
          { productId: "b", quantity: 1 },
          { productId: "a", quantity: 2 },
        ],
      },
      'items[2].product_id "a" repeats items[0]',
    ],
  ];
  for (const [name, change, message] of cases) {
    test(name, () => expect(reserveProblem({ ...ok, ...change })).toContain(message));
  }

  test("accepts the edges: ttl 0 and 3600, quantity 1000, a 64-character order id", () => {
    expect(reserveProblem(ok)).toBeUndefined();
    expect(
      reserveProblem({ ...ok, ttlSeconds: 3600, orderId: "x".repeat(64), items: [{ productId: "a", quantity: 1000 }] }),
    ).toBeUndefined();
    expect(reserveProblem({ ...ok, orderId: "x".repeat(65) })).toContain("order_id");
  });

  test("bounds the number of products", () => {
    const many = Array.from({ length: MAX_ITEMS + 1 }, (_, i) => ({ productId: `p-${i}`, quantity: 1 }));
    expect(itemsProblem(many)).toContain(`items must hold at most ${MAX_ITEMS}`);
    expect(itemsProblem(many.slice(1))).toBeUndefined();
  });
});

test("ttl 0 means the server's default", () => {
  expect(resolveTtlSeconds(0, 900)).toBe(900);
  expect(resolveTtlSeconds(5, 900)).toBe(5);
});

describe("state transitions", () => {
  const r = (status: ReservationState) => ({ id: "r-1", status });

  test("release: active is released, released and expired come back unchanged, committed is refused", () => {
    expect(releaseStep(r("active"))).toEqual({ kind: "release" });
    expect(releaseStep(r("released"))).toEqual({ kind: "unchanged" });
    expect(releaseStep(r("expired"))).toEqual({ kind: "unchanged" });
    expect(releaseStep(r("committed"))).toMatchObject({ kind: "refuse", reason: expect.stringContaining("committed") });
  });

  test("commit: active in time is committed, committed comes back unchanged, the rest is refused", () => {
    expect(commitStep(r("active"), false)).toEqual({ kind: "commit" });
    expect(commitStep(r("committed"), false)).toEqual({ kind: "unchanged" });
    expect(commitStep(r("committed"), true)).toEqual({ kind: "unchanged" });
    expect(commitStep(r("released"), false)).toMatchObject({
      kind: "refuse",
      reason: expect.stringContaining("released"),
    });
    expect(commitStep(r("expired"), false)).toMatchObject({
      kind: "refuse",
      reason: expect.stringContaining("expired"),
    });
  });

  test("commit: an active one past its expiry is expired and refused", () => {
    expect(commitStep(r("active"), true)).toMatchObject({
      kind: "expire_and_refuse",
      reason: expect.stringContaining("expired"),
    });
  });
});

test("unitsByProduct sums per product and sorts by id, the lock order", () => {
  const items = [
    { productId: "b", quantity: 1 },
    { productId: "a", quantity: 2 },
    { productId: "b-2", quantity: 3 },
    { productId: "b", quantity: 4 },
  ];
  expect(unitsByProduct(items)).toEqual([
    { productId: "a", quantity: 2 },
    { productId: "b", quantity: 5 },
    { productId: "b-2", quantity: 3 },
  ]);
});
