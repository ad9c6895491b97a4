import { describe, expect, test } from "bun:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { BrokenCircuitError, BulkheadRejectedError, TaskCancelledError } from "cockatiel";
import { NoInstanceError } from "../discovery/no-instance-error";
import {
  codeForHttpStatus,
  countsAsFailure,
  ejectsInstance,
  isCallerError,
  isRetryable,
  neverSent,
  outcomeUnknown,
} from "./error-classification";

const rpc = (code: Code) => new ConnectError("x", code);
/** What connect-node makes of a socket error: a ConnectError whose cause carries the system code. */
const socket = (sys: string, code = Code.Unavailable) =>
  new ConnectError(`connect ${sys}`, code, undefined, undefined, Object.assign(new Error(sys), { code: sys }));

/** The names of the Connect codes whose errors `holds` is true of, in the codes' order. */
const codesWhere = (holds: (e: ConnectError) => boolean) =>
  Object.values(Code)
    .filter((c): c is Code => typeof c === "number" && holds(rpc(c)))
    .map((c) => Code[c])
    .join(" ");
/** The caller's errors, in the codes' order: the one list calls, event handlers and remote steps go by. */
const CALLER_ERRORS =
  "InvalidArgument NotFound AlreadyExists PermissionDenied FailedPrecondition OutOfRange Unimplemented Unauthenticated";

describe("the caller's mistakes and the callee's verdicts", () => {
  test("are these codes and no other", () => {
    expect(codesWhere(isCallerError)).toBe(CALLER_ERRORS);
  });
  for (const code of CALLER_ERRORS.split(" ").map((name) => Code[name as keyof typeof Code])) {
    test(`${Code[code]}: never retried, never a breaker failure, does not eject`, () => {
      expect(isRetryable(rpc(code), true)).toBe(false);
      expect(countsAsFailure(rpc(code))).toBe(false);
      expect(ejectsInstance(rpc(code))).toBe(false);
      expect(isCallerError(rpc(code))).toBe(true);
    });
  }
  test("Canceled (the caller gave up) is no failure of the target and not retried", () => {
    expect(countsAsFailure(rpc(Code.Canceled))).toBe(false);
    expect(isRetryable(rpc(Code.Canceled), true)).toBe(false);
  });
});

describe("transient failures", () => {
  test("Unavailable, ResourceExhausted, Aborted, DeadlineExceeded are retried when the call is idempotent, and only then", () => {
    for (const code of [Code.Unavailable, Code.ResourceExhausted, Code.Aborted, Code.DeadlineExceeded]) {
      expect(isRetryable(rpc(code), true)).toBe(true);
      expect(isRetryable(rpc(code), false)).toBe(false);
    }
  });

  test("Unavailable, DeadlineExceeded, ResourceExhausted and server faults count against the breaker; Aborted (a conflict) does not", () => {
    expect(codesWhere(countsAsFailure)).toBe(
      "Unknown DeadlineExceeded ResourceExhausted Internal Unavailable DataLoss",
    );
    expect(countsAsFailure(rpc(Code.Aborted))).toBe(false);
  });

  test("server faults are not retried: the same request would fail the same way", () => {
    expect(isRetryable(rpc(Code.Internal), true)).toBe(false);
    expect(isRetryable(rpc(Code.Unknown), true)).toBe(false);
  });

  test("Unavailable ejects the instance; a timeout does not (power of two choices steers around slow ones)", () => {
    expect(ejectsInstance(rpc(Code.Unavailable))).toBe(true);
    expect(ejectsInstance(rpc(Code.DeadlineExceeded))).toBe(false);
    expect(ejectsInstance(rpc(Code.Internal))).toBe(false);
  });
});

describe("connection failures", () => {
  test("refused: never sent, so retried even when the call has side effects; ejects; counts", () => {
    const e = socket("ECONNREFUSED");
    expect(neverSent(e)).toBe(true);
    expect(isRetryable(e, false)).toBe(true);
    expect(ejectsInstance(e)).toBe(true);
    expect(countsAsFailure(e)).toBe(true);
    expect(outcomeUnknown(e)).toBe(false);
  });

  test("reset (connect-node says Aborted): maybe handled, so retried only when idempotent; ejects; counts", () => {
    const e = socket("ECONNRESET", Code.Aborted);
    expect(neverSent(e)).toBe(false);
    expect(isRetryable(e, false)).toBe(false);
    expect(isRetryable(e, true)).toBe(true);
    expect(ejectsInstance(e)).toBe(true);
    expect(countsAsFailure(e)).toBe(true);
    expect(outcomeUnknown(e)).toBe(true);
  });

  test("Bun's fetch spells them the same way, in a TypeError's code", () => {
    const e = new ConnectError(
      "fetch failed",
      Code.Unavailable,
      undefined,
      undefined,
      Object.assign(new TypeError("Unable to connect"), { code: "ECONNREFUSED" }),
    );
    expect(neverSent(e)).toBe(true);
  });

  test("no registered instance: never sent, retried, counts against the breaker, ejects nobody", () => {
    const e = new NoInstanceError("payment", "shop");
    expect(e).toBeInstanceOf(ConnectError);
    expect(ConnectError.from(e)).toBe(e);
    expect(isRetryable(e, false)).toBe(true);
    expect(countsAsFailure(e)).toBe(true);
    expect(ejectsInstance(e)).toBe(false);
  });
});

describe("our own refusals", () => {
  test("a full bulkhead or a cancelled wait says nothing about the target", () => {
    for (const e of [new BulkheadRejectedError(1, 0), new TaskCancelledError()]) {
      expect(countsAsFailure(e)).toBe(false);
      expect(isRetryable(e, true)).toBe(false);
    }
  });
  test("an open breaker is not retried", () => {
    expect(isRetryable(new BrokenCircuitError(), true)).toBe(false);
  });
});

describe("outcome unknown", () => {
  test("a timeout, a conflict or a server fault may have acted; a refusal did not", () => {
    expect([Code.DeadlineExceeded, Code.Aborted, Code.Internal].map((c) => outcomeUnknown(rpc(c)))).toEqual([
      true,
      true,
      true,
    ]);
    expect([Code.Unavailable, Code.ResourceExhausted, Code.InvalidArgument].map((c) => outcomeUnknown(rpc(c)))).toEqual(
      [false, false, false],
    );
  });
});

test("REST statuses map to the codes the policies understand", () => {
  expect([200, 201, 204, 400, 404, 409].map(codeForHttpStatus)).toEqual([
    undefined,
    undefined,
    undefined,
    undefined,
    undefined,
    undefined,
  ]);
  expect([429, 500, 501, 502, 503, 504].map(codeForHttpStatus)).toEqual([
    Code.ResourceExhausted,
    Code.Internal,
    Code.Unimplemented,
    Code.Unavailable,
    Code.Unavailable,
    Code.DeadlineExceeded,
  ]);
});

test("a message over a size limit is the caller's problem: not retried, no breaker failure; a quota is retried", () => {
  const sizes = [
    "message size is larger than configured readMaxBytes 4096", // connect-es, either side
    "message size 9000 is larger than configured writeMaxBytes 8192",
    "Received message larger than max (5000 vs. 4096)", // @grpc/grpc-js
    "request of 2000000 bytes is larger than NATS max_payload (1048576 bytes)", // the kit's NATS transport
  ].map((m) => new ConnectError(m, Code.ResourceExhausted));
  for (const e of sizes) {
    expect([isRetryable(e, true), countsAsFailure(e), isCallerError(e)]).toEqual([false, false, true]);
  }
  const quota = new ConnectError("too many requests", Code.ResourceExhausted);
  expect([isRetryable(quota, true), countsAsFailure(quota), isCallerError(quota)]).toEqual([true, true, false]);
});
