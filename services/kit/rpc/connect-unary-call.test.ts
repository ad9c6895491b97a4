import { afterAll, expect, test } from "bun:test";
import { Code, ConnectError, createConnectRouter } from "@connectrpc/connect";
import { createFetchHandler } from "@connectrpc/connect/protocol";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../contracts/gen/health/v1/health_pb";
import { healthFixtureRoutes } from "../testing/health-fixture";
import { waitFor } from "../testing/service-process";
import { callConnectUnary } from "./connect-unary-call";

// A stock connect-es server (createFetchHandler on Bun.serve) holds the kit's client to the protocol.
const router = createConnectRouter();
healthFixtureRoutes(router);
const check = createFetchHandler(
  router.handlers.find((h) => h.method.name === "Check")!,
  { httpVersion: "1.1" },
);
let received = 0;
const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (req) => (received++, check(req)) });
afterAll(() => server.stop(true));
const base = `http://127.0.0.1:${server.port}`;
const open = new AbortController().signal;

test("an answer: the message, and headers and trailers apart", async () => {
  const res = await callConnectUnary(base, Health.method.check, open, 1000, { "x-tag": "a" }, { service: "" });
  expect(res.message.status).toBe(Status.SERVING);
  expect(res.header.get("x-served-by")).toBe("test");
  expect(res.header.get("trailer-x-done")).toBeNull();
  expect(res.trailer.get("x-done")).toBe("1");
  expect(res.trailer.get("x-served-by")).toBeNull();
});

test("an error: its code, message and metadata (headers and trailers)", async () => {
  const e = await callConnectUnary(base, Health.method.check, open, undefined, undefined, { service: "nope" }).catch(
    (e) => e,
  );
  expect(e).toBeInstanceOf(ConnectError);
  expect(e.code).toBe(Code.NotFound);
  expect(e.rawMessage).toBe("unknown service nope");
  expect(e.metadata.get("x-why")).toBe("unknown");
});

test("the signal cancels the call with its reason; the timeout goes out as Connect-Timeout-Ms", async () => {
  const caller = new AbortController();
  const before = received;
  const pending = callConnectUnary(base, Health.method.check, caller.signal, undefined, undefined, {
    service: "slow",
  }).catch((e) => e);
  // Cancelled in flight: once the server has the request.
  await waitFor(() => received > before, { timeoutMs: 2000, what: "the request to reach the server" });
  caller.abort(new ConnectError("caller gave up", Code.Canceled));
  const e = await pending;
  expect(e).toBeInstanceOf(ConnectError);
  expect(e.code).toBe(Code.Canceled);
  expect(e.rawMessage).toBe("caller gave up");
  // The server ends the call at the deadline the header carries.
  const late = await callConnectUnary(base, Health.method.check, open, 30, undefined, { service: "slow" }).catch(
    (e) => e,
  );
  expect(late.code).toBe(Code.DeadlineExceeded);
});
