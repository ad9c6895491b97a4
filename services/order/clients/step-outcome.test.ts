import { describe, expect, test } from "bun:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { refusalKind, stepOutcome } from "./step-outcome";

const failing = (e: unknown) => () => Promise.reject(e);
const kindAfter = async (e: unknown) => (await stepOutcome("payment", failing(e))).kind;

describe("stepOutcome", () => {
  test("an answer is done, with its value", async () => {
    expect(await stepOutcome("payment", async () => 7)).toEqual({ kind: "done", value: 7 });
  });

  test("the callee's verdicts are refusals, naming the service: it did not act and will not on a retry", async () => {
    expect(await stepOutcome("payment", failing(new ConnectError("card expired", Code.FailedPrecondition)))).toEqual({
      kind: "refused",
      reason: "payment: card expired",
    });
    const verdicts = [Code.InvalidArgument, Code.NotFound, Code.AlreadyExists, Code.PermissionDenied];
    const moreVerdicts = [Code.Unauthenticated, Code.OutOfRange, Code.Unimplemented];
    for (const code of [...verdicts, ...moreVerdicts])
      expect(await kindAfter(new ConnectError("x", code))).toBe("refused");
  });

  test("anything else is unavailable: not done now, or done unseen", async () => {
    expect(await stepOutcome("inventory", failing(new ConnectError("busy", Code.Unavailable)))).toEqual({
      kind: "unavailable",
      reason: "inventory: busy",
    });
    for (const code of [Code.DeadlineExceeded, Code.ResourceExhausted, Code.Aborted, Code.Internal, Code.Unknown])
      expect(await kindAfter(new ConnectError("x", code))).toBe("unavailable");
    expect(await kindAfter(new Error("payment answered without a payment"))).toBe("unavailable");
  });
});

test("refusalKind: a lookup's failure as the order service's refusal", () => {
  expect(refusalKind(new ConnectError("bad id", Code.InvalidArgument))).toEqual({ kind: "invalid", message: "bad id" });
  expect(refusalKind(new ConnectError("x", Code.NotFound)).kind).toBe("not_found");
  expect(refusalKind(new ConnectError("x", Code.FailedPrecondition)).kind).toBe("not_allowed");
  expect(refusalKind(new ConnectError("x", Code.PermissionDenied)).kind).toBe("unavailable");
  expect(refusalKind(new Error("socket hang up")).kind).toBe("unavailable");
});
