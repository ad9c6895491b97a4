import { describe, expect, test } from "bun:test";
import { incomingCall, remainingMs, timeoutFromHeaders, withIncomingCall } from "./deadline";

describe("the timeout a caller sent", () => {
  test("Connect: connect-timeout-ms", () => {
    expect(timeoutFromHeaders(new Headers({ "connect-timeout-ms": "1500" }))).toBe(1500);
  });
  test("gRPC and gRPC-Web: grpc-timeout with a unit", () => {
    const t = (v: string) => timeoutFromHeaders(new Headers({ "grpc-timeout": v }));
    expect([t("2S"), t("250m"), t("1M"), t("1H"), t("3000u"), t("5000000n")]).toEqual([
      2000, 250, 60_000, 3_600_000, 3, 5,
    ]);
  });
  test("none, or a malformed one, is no deadline", () => {
    expect(timeoutFromHeaders(new Headers())).toBeUndefined();
    expect(timeoutFromHeaders(new Headers({ "connect-timeout-ms": "soon" }))).toBeUndefined();
    expect(timeoutFromHeaders(new Headers({ "grpc-timeout": "10" }))).toBeUndefined();
    expect(timeoutFromHeaders(new Headers({ "grpc-timeout": "123456789S" }))).toBeUndefined();
  });
});

test("the call being served is visible through awaits, and only inside it", async () => {
  expect(incomingCall()).toBeUndefined();
  expect(remainingMs()).toBeUndefined();
  const signal = new AbortController().signal;
  const seen = await withIncomingCall({ deadline: Date.now() + 1000, signal }, async () => {
    await Bun.sleep(5);
    return { left: remainingMs()!, signal: incomingCall()?.signal };
  });
  expect(seen.left).toBeGreaterThan(0);
  expect(seen.left).toBeLessThanOrEqual(1000);
  expect(seen.signal).toBe(signal);
  expect(incomingCall()).toBeUndefined();
});
