import { describe, expect, test } from "bun:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { backoffDelay, describeError, isRetryable, PoisonMessage } from "./handler-failure";

describe("isRetryable", () => {
  test("a PoisonMessage never is; an unknown error (a database or network hiccup) is", () => {
    expect(isRetryable(new PoisonMessage("bad"))).toBe(false);
    expect(isRetryable(new Error("connection reset"))).toBe(true);
    expect(isRetryable("a string")).toBe(true);
  });

  test("Connect codes as DESIGN.md classifies them", () => {
    for (const code of [Code.Unavailable, Code.DeadlineExceeded, Code.ResourceExhausted, Code.Aborted, Code.Internal])
      expect(isRetryable(new ConnectError("x", code))).toBe(true);
    for (const code of [
      Code.InvalidArgument,
      Code.NotFound,
      Code.AlreadyExists,
      Code.FailedPrecondition,
      Code.PermissionDenied,
      Code.Unauthenticated,
    ])
      expect(isRetryable(new ConnectError("x", code))).toBe(false);
    for (const code of [Code.OutOfRange, Code.Unimplemented])
      expect(isRetryable(new ConnectError("x", code))).toBe(false);
  });

  test("an error may say for itself", () => {
    expect(isRetryable(Object.assign(new Error("x"), { retryable: false }))).toBe(false);
  });
});

describe("backoffDelay", () => {
  test("delivery n waits the n-th delay; past the end the last one repeats", () => {
    const schedule = [300, 600, 1200];
    expect([1, 2, 3, 4, 9].map((n) => backoffDelay(schedule, n))).toEqual([300, 600, 1200, 1200, 1200]);
    expect(backoffDelay([], 3)).toBe(0);
  });
});

test("describeError keeps the kind of error when it has one", () => {
  expect(describeError(new PoisonMessage("no order"))).toBe("PoisonMessage: no order");
  expect(describeError(new Error("plain"))).toBe("plain");
  expect(
    describeError(
      new Error("Failed query: insert into inbox", { cause: new Error('relation "inbox" does not exist') }),
    ),
  ).toBe('Failed query (statement and parameters withheld; the cause says why): relation "inbox" does not exist');
  // A dead letter is read by operators: no parameter, no value Postgres quotes.
  const withValues = new Error("Failed query: insert into customers values ($1)\nparams: ada@example.com", {
    cause: new Error('invalid input syntax for type uuid: "ada@example.com"'),
  });
  expect(describeError(withValues)).not.toContain("ada@example.com");
});
