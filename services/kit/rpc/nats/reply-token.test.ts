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

test("a traced call's traceparent rides in the token and comes back whole; anything else is not carried", () => {
  const traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  expect(replyToken(250, false, traceparent)).toBe("t250p0af7651916cd43dd8448eb211c80319cb7ad6b716920333101");
  expect(callOfReply(`_INBOX.abc.9.${replyToken(250, true, traceparent)}`)).toEqual({
    callId: "_INBOX.abc.9",
    timeoutMs: 250,
    remember: true,
    traceparent,
  });
  // Another version or a malformed one is not put in the subject (the caller sends it as a header then).
  expect(replyToken(250, false, "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")).toBe("t250");
  expect(replyToken(250, false, "garbage")).toBe("t250");
});

test("other reply subjects are not calls", () => {
  for (const reply of [
    "_INBOX.abcdef",
    "_INBOX.abc.tx",
    "_INBOX.abc.t12a",
    "_INBOX.abc.q5",
    "nodots",
    "_INBOX.abc.t12p0af7651916",
    "_INBOX.abc.t12p0af7651916cd43dd8448eb211c80319cb7ad6b7169203331",
  ])
    expect(callOfReply(reply)).toBeUndefined();
});
