// A call's reply subject carries its name, its timeout and whether its answer must be kept: read back
// exactly, and a reply subject of another client (nats req) is not mistaken for one.
import { expect, test } from "bun:test";
import { callOfReply, replyToken } from "./nats-unary-call";

test("the reply subject says the call's id, timeout and whether to remember it", () => {
  expect(callOfReply(`_INBOX.abc.7.${replyToken(1500.2)}`)).toEqual({
    callId: "_INBOX.abc.7",
    timeoutMs: 1501,
    remember: false,
  });
  expect(callOfReply(`_INBOX_order.x.8.${replyToken(undefined, true)}`)).toEqual({
    callId: "_INBOX_order.x.8",
    timeoutMs: undefined,
    remember: true,
  });
  expect(replyToken(0)).toBe("t1");
});

test("other reply subjects are not calls", () => {
  for (const reply of ["_INBOX.abcdef", "_INBOX.abc.tx", "_INBOX.abc.t12a", "_INBOX.abc.q5", "nodots"])
    expect(callOfReply(reply)).toBeUndefined();
});
