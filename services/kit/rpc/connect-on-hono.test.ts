import { describe, expect, test } from "bun:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createConnectRouter, type ConnectRouter, type Interceptor } from "@connectrpc/connect";
import { createFetchHandler } from "@connectrpc/connect/protocol";
import { Health, HealthCheckRequestSchema, HealthCheckResponse_ServingStatus as Status } from "../../contracts/gen/health/v1/health_pb";
import { connectUnaryFastLane } from "./connect-on-hono";

// The fast lane must answer exactly as connect-es's createFetchHandler does: same status, headers and body.
const seen: string[] = [];
const tagging: Interceptor = (next) => async (req) => {
  seen.push(req.header.get("x-tag") ?? "");
  const res = await next(req);
  res.header.set("x-intercepted", "yes");
  return res;
};
const options = { interceptors: [tagging], readMaxBytes: 64 };
const routes = (router: ConnectRouter) => router.service(Health, {
  async check(req, ctx) {
    if (req.service === "slow") {
      await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve, { once: true }));
      throw new ConnectError("gave up", Code.DeadlineExceeded);
    }
    if (req.service === "crash") throw new Error("boom");
    if (req.service !== "") throw new ConnectError(`unknown service ${req.service}`, Code.NotFound, { "x-why": "unknown" });
    ctx.responseHeader.set("x-served-by", "test");
    ctx.responseTrailer.set("x-done", "1");
    return { status: Status.SERVING };
  },
  async list() {
    return { statuses: {} };
  },
  async *watch() {},
});
const fast = connectUnaryFastLane(routes, options);
const router = createConnectRouter(options);
routes(router);
const stock = new Map(router.handlers.map((h) => [h.requestPath, createFetchHandler(h, { httpVersion: "1.1" })]));

const URL_CHECK = "http://svc.test/grpc.health.v1.Health/Check";
const proto = (service: string) => toBinary(HealthCheckRequestSchema, create(HealthCheckRequestSchema, { service }));

async function both(url: string, init: RequestInit): Promise<[Response, Response]> {
  const viaFast = fast(new Request(url, init));
  expect(viaFast).toBeDefined();
  const path = new URL(url).pathname;
  return [await viaFast!, await stock.get(path)!(new Request(url, init))];
}

async function expectSame([a, b]: [Response, Response]): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  const shape = async (r: Response) => {
    const headers = Object.fromEntries([...r.headers].filter(([k]) => k !== "date"));
    return { status: r.status, headers, body: Buffer.from(await r.arrayBuffer()).toString("base64") };
  };
  const [x, y] = [await shape(a), await shape(b)];
  expect(x).toEqual(y);
  return x;
}

describe("the Connect unary fast lane answers as createFetchHandler does", () => {
  test("binary success with response headers, trailers and the interceptor's header", async () => {
    const r = await expectSame(await both(URL_CHECK, { method: "POST", headers: { "content-type": "application/proto", "x-tag": "a" }, body: proto("") }));
    expect(r.status).toBe(200);
    expect(r.headers["x-served-by"]).toBe("test");
    expect(r.headers["trailer-x-done"]).toBe("1");
    expect(r.headers["x-intercepted"]).toBe("yes");
    expect(seen.filter((t) => t === "a")).toHaveLength(2);
  });

  test("JSON success", async () => {
    const r = await expectSame(await both(URL_CHECK, { method: "POST", headers: { "content-type": "application/json" }, body: '{"service":""}' }));
    expect(JSON.parse(Buffer.from(r.body, "base64").toString())).toEqual({ status: "SERVING" });
  });

  test("an error with metadata: status, error JSON and headers", async () => {
    const r = await expectSame(await both(URL_CHECK, { method: "POST", headers: { "content-type": "application/json" }, body: '{"service":"nope"}' }));
    expect(r.status).toBe(404);
    expect(r.headers["x-why"]).toBe("unknown");
    expect(JSON.parse(Buffer.from(r.body, "base64").toString()).code).toBe("not_found");
  });

  test("a thrown non-Connect error is internal", async () => {
    const r = await expectSame(await both(URL_CHECK, { method: "POST", headers: { "content-type": "application/proto" }, body: proto("crash") }));
    expect(r.status).toBe(500);
  });

  test("malformed JSON, broken protobuf", async () => {
    const j = await expectSame(await both(URL_CHECK, { method: "POST", headers: { "content-type": "application/json" }, body: "{" }));
    expect(JSON.parse(Buffer.from(j.body, "base64").toString()).code).toBe("invalid_argument");
    const p = await expectSame(await both(URL_CHECK, { method: "POST", headers: { "content-type": "application/proto" }, body: new Uint8Array([0x0a, 0xff]) }));
    expect(p.status).not.toBe(200);
  });

  test("a body over readMaxBytes is resource_exhausted", async () => {
    const r = await expectSame(await both(URL_CHECK, { method: "POST", headers: { "content-type": "application/proto" }, body: proto("x".repeat(100)) }));
    expect(JSON.parse(Buffer.from(r.body, "base64").toString()).code).toBe("resource_exhausted");
  });

  test("a malformed timeout header, and a timeout that passes while the handler waits", async () => {
    const bad = await expectSame(await both(URL_CHECK, { method: "POST", headers: { "content-type": "application/proto", "connect-timeout-ms": "soon" }, body: proto("") }));
    expect(bad.status).toBe(400);
    const slow = await expectSame(await both(URL_CHECK, { method: "POST", headers: { "content-type": "application/proto", "connect-timeout-ms": "20" }, body: proto("slow") }));
    expect(JSON.parse(Buffer.from(slow.body, "base64").toString()).code).toBe("deadline_exceeded");
  });

  test("everything but an uncompressed unary POST takes the usual route", () => {
    const body = proto("");
    expect(fast(new Request(URL_CHECK, { method: "GET" }))).toBeUndefined();
    expect(fast(new Request(URL_CHECK, { method: "POST", headers: { "content-type": "application/grpc-web+proto" }, body }))).toBeUndefined();
    expect(fast(new Request(URL_CHECK, { method: "POST", headers: { "content-type": "application/proto", "content-encoding": "gzip" }, body }))).toBeUndefined();
    expect(fast(new Request("http://svc.test/grpc.health.v1.Health/Watch", { method: "POST", headers: { "content-type": "application/connect+proto" }, body }))).toBeUndefined();
    expect(fast(new Request("http://svc.test/grpc.health.v1.Health/Nope", { method: "POST", headers: { "content-type": "application/proto" }, body }))).toBeUndefined();
    expect(fast(new Request(`${URL_CHECK}?x=1`, { method: "POST", headers: { "content-type": "application/proto" }, body }))).toBeDefined();
  });

  test("methods with options of their own, and response compression a client may ask for, take the usual route", async () => {
    const body = proto("");
    const init = { method: "POST", headers: { "content-type": "application/proto" }, body };
    const own = connectUnaryFastLane((r) => r.service(Health, { check: () => ({ status: Status.SERVING }) }, { readMaxBytes: 8 }));
    expect(own(new Request(URL_CHECK, init))).toBeUndefined();
    const { compressionGzip } = await import("@connectrpc/connect-node");
    const gzip = connectUnaryFastLane((r) => r.service(Health, { check: () => ({ status: Status.SERVING }) }), { acceptCompression: [compressionGzip] });
    expect(gzip(new Request(URL_CHECK, { ...init, headers: { ...init.headers, "accept-encoding": "gzip" } }))).toBeUndefined();
    expect(gzip(new Request(URL_CHECK, init))).toBeDefined();
  });

  test("the request gate runs before the body is read, as in connect-es", async () => {
    const gated = { requestGate: () => Promise.reject(new ConnectError("not now", Code.PermissionDenied)) };
    const gatedRoutes = (r: ConnectRouter) => r.service(Health, { check: () => ({ status: Status.SERVING }) });
    const lane = connectUnaryFastLane(gatedRoutes, gated);
    const stockRouter = createConnectRouter(gated);
    gatedRoutes(stockRouter);
    const handler = createFetchHandler(stockRouter.handlers.find((h) => h.method.name === "Check")!, { httpVersion: "1.1" });
    const init = { method: "POST", headers: { "content-type": "application/proto" }, body: proto("") };
    const r = await expectSame([await lane(new Request(URL_CHECK, init))!, await handler(new Request(URL_CHECK, init))]);
    expect(r.status).toBe(403);
  });
});
