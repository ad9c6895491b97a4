import { describe, expect, test } from "bun:test";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  backoffDelay,
  describeError,
  failureLogFields,
  isRetryable,
  PoisonMessage,
  sqlStateOf,
} from "./handler-failure";

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

  test("a Postgres data exception (SQLSTATE class 22) never is, wrapped or not; other SQLSTATEs are", () => {
    const pg = (code: string, message: string) => Object.assign(new Error(message), { code });
    const badUuid = pg("22P02", 'invalid input syntax for type uuid: "o-1"');
    expect(sqlStateOf(badUuid)).toBe("22P02");
    expect(isRetryable(badUuid)).toBe(false);
    expect(isRetryable(new Error("Failed query: select $1::uuid", { cause: badUuid }))).toBe(false);
    expect(isRetryable(pg("22003", "numeric field overflow"))).toBe(false);
    expect(isRetryable(pg("40001", "could not serialize access"))).toBe(true);
    expect(isRetryable(pg("57P01", "terminating connection due to administrator command"))).toBe(true);
    // A network error's code is no SQLSTATE.
    expect(sqlStateOf(Object.assign(new Error("reset"), { code: "ECONNRESET" }))).toBeUndefined();
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

test("failureLogFields: one line with the cause and SQLSTATE; a stack only for a programming error", () => {
  const wrapped = new Error("Failed query: select $1::uuid", {
    cause: Object.assign(new Error('invalid input syntax for type uuid: "o-1"'), { code: "22P02" }),
  });
  const fields = failureLogFields(wrapped);
  expect(fields.sqlstate).toBe("22P02");
  expect(String(fields.error)).toContain("invalid input syntax for type uuid");
  expect(fields.stack).toBeUndefined();
  expect(failureLogFields(new ConnectError("no order", Code.NotFound))).toEqual({
    error: "ConnectError: [not_found] no order",
    code: "NotFound",
  });
  expect(String(failureLogFields(new TypeError("x is undefined")).stack)).toContain("TypeError");
});
