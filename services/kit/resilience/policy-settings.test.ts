import { describe, expect, test } from "bun:test";
import { applyOverrides, DEFAULT_POLICY_SETTINGS, parsePolicyOverrides } from "./policy-settings";

describe("policy settings from KV", () => {
  test("a partial object is laid over the defaults, one level deep", () => {
    const parsed = parsePolicyOverrides(
      '{"breaker":{"failureRateThreshold":0.2},"retry":{"maxRetries":0},"loadBalancing":"round-robin"}',
    );
    if (!("overrides" in parsed)) throw new Error(parsed.problems.join());
    const s = applyOverrides(DEFAULT_POLICY_SETTINGS, parsed.overrides);
    expect(s.breaker).toEqual({ ...DEFAULT_POLICY_SETTINGS.breaker, failureRateThreshold: 0.2 });
    expect(s.retry.maxRetries).toBe(0);
    expect(s.retry.initialDelayMs).toBe(DEFAULT_POLICY_SETTINGS.retry.initialDelayMs);
    expect(s.loadBalancing).toBe("round-robin");
    expect(DEFAULT_POLICY_SETTINGS.breaker.failureRateThreshold).toBe(0.5);
  });

  test("every problem is named by its path, at once", () => {
    const parsed = parsePolicyOverrides(
      '{"breaker":{"failureRateThreshold":1.5,"speed":3},"retry":{"maxRetries":-1},"colour":"red","loadBalancing":"random"}',
    );
    expect("problems" in parsed && parsed.problems).toEqual([
      "breaker.failureRateThreshold must be a number between 0 and 1 (exclusive), got 1.5",
      "breaker.speed is not a setting (known: breaker.failureRateThreshold, breaker.windowMs, breaker.minimumCalls, breaker.halfOpenAfterMs, breaker.halfOpenCalls)",
      "retry.maxRetries must be an integer in 0..10, got -1",
      "colour is not a setting (known: attemptTimeoutMs, retry, breaker, bulkhead, loadBalancing, ejection)",
      'loadBalancing must be one of p2c, round-robin, got "random"',
    ]);
  });

  test("not JSON, not an object, or inconsistent", () => {
    expect(parsePolicyOverrides("{")).toMatchObject({ problems: [expect.stringContaining("not JSON")] });
    expect(parsePolicyOverrides("[1]")).toEqual({ problems: ["must be a JSON object"] });
    expect(parsePolicyOverrides('{"retry":{"initialDelayMs":500,"maxDelayMs":100}}')).toEqual({
      problems: ["retry.maxDelayMs must be at least retry.initialDelayMs"],
    });
  });
});
