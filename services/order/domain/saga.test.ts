import { describe, expect, test } from "bun:test";
import type { OrderState, SagaTarget } from "./order";
import { announcement } from "./order-events";
import { nextStep, resumeTarget, retryDelayMs } from "./saga";

const at = (state: OrderState, target: SagaTarget, refunded = false) => ({ state, target, refunded });

describe("nextStep", () => {
  test("forward to confirmed: reserve, charge, commit; a handed-over charge waits, or is asked again when recovering", () => {
    expect(nextStep(at("reserving", "confirmed")).kind).toBe("reserve");
    expect(nextStep(at("reserved", "confirmed")).kind).toBe("charge");
    expect(nextStep(at("paid", "confirmed")).kind).toBe("commit");
    expect(nextStep(at("payment_pending", "confirmed")).kind).toBe("await_payment");
    expect(nextStep(at("payment_pending", "confirmed"), { recovering: true }).kind).toBe("charge");
    expect(nextStep(at("confirmed", "confirmed")).kind).toBe("finish");
  });
  test("back: refund what was captured first, then release what is held (by order while reserving), then finish", () => {
    expect(nextStep(at("paid", "cancelled"))).toEqual({ kind: "refund" });
    expect(nextStep(at("paid", "cancelled", true))).toEqual({ kind: "release", byOrder: false });
    expect(nextStep(at("confirmed", "cancelled"))).toEqual({ kind: "refund" });
    expect(nextStep(at("confirmed", "cancelled", true))).toEqual({ kind: "finish" });
    expect(nextStep(at("reserving", "pending"))).toEqual({ kind: "release", byOrder: true });
    expect(nextStep(at("reserved", "payment_failed"))).toEqual({ kind: "release", byOrder: false });
    expect(nextStep(at("payment_pending", "payment_failed"))).toEqual({ kind: "release", byOrder: false });
    expect(nextStep(at("pending", "cancelled"))).toEqual({ kind: "finish" });
    expect(nextStep(at("confirmed", ""))).toEqual({ kind: "none" });
  });
});

test("the recovery worker sends an interrupted reserve back, and everything past it on", () => {
  expect(resumeTarget({ state: "reserving", target: "confirmed" })).toBe("pending");
  expect(resumeTarget({ state: "reserved", target: "confirmed" })).toBe("confirmed");
  expect(resumeTarget({ state: "paid", target: "cancelled" })).toBe("cancelled");
});

test("retries back off, doubling up to the cap", () => {
  expect([1, 2, 3, 4, 10].map((n) => retryDelayMs(n, { maxMs: 5000 }))).toEqual([500, 1000, 2000, 4000, 5000]);
});

test("announcements: arrivals at confirmed, payment_failed and cancelled; a refund only when a capture was given back", () => {
  const o = (state: OrderState, refunded = false) => ({ state, stateReason: "why", refunded });
  expect(announcement(undefined, o("pending"))).toEqual({ kind: "created" });
  expect(announcement("paid", o("confirmed"))).toEqual({ kind: "confirmed" });
  expect(announcement("confirmed", o("confirmed"))).toBeUndefined();
  expect(announcement("reserved", o("paid"))).toBeUndefined();
  expect(announcement("reserved", o("payment_failed"))).toEqual({ kind: "payment_failed", reason: "why" });
  expect(announcement("reserved", o("cancelled"))).toEqual({
    kind: "cancelled",
    reason: "why",
    refunded: false,
    previousState: "reserved",
  });
  expect(announcement("paid", o("cancelled", true))).toEqual({
    kind: "cancelled",
    reason: "why",
    refunded: true,
    previousState: "paid",
  });
});
