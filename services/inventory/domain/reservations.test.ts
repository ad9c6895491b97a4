import { describe, expect, test } from "bun:test";
import {
  commitStep,
  releaseStep,
  repeatedProductProblem,
  resolveTtlSeconds,
  unitsByProduct,
  type ReservationState,
} from "./reservations";

// The fields' own rules (ids, quantities, ttl) are inventory_service.proto's: tests/validation-rules.test.ts.
test("a product named twice is refused, naming the repeat and the first", () => {
  const items = [
    { productId: "a", quantity: 1 },
    { productId: "b", quantity: 1 },
    { productId: "a", quantity: 2 },
  ];
  expect(repeatedProductProblem(items)).toContain('items[2].product_id "a" repeats items[0]');
  expect(repeatedProductProblem(items.slice(0, 2))).toBeUndefined();
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
