import { describe, expect, test } from "bun:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createConnectRouter, type ConnectRouter, type Interceptor } from "@connectrpc/connect";
import { createFetchHandler } from "@connectrpc/connect/protocol";
import {
  Health,
  HealthCheckRequestSchema,
  HealthCheckResponse_ServingStatus as Status,
} from "../../contracts/gen/health/v1/health_pb";
import { healthFixtureRoutes } from "../testing/health-fixture";
import { waitFor } from "../testing/service-process";
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
const routes = healthFixtureRoutes;
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

async function expectSame([a, b]: [Response, Response]): Promise<{
  status: number;
  headers: Record<string, string>;
  body: string;
}> {
  const shape = async (r: Response) => {
    const headers = Object.fromEntries([...r.headers].filter(([k]) => k !== "date"));
    return { status: r.status, headers, body: Buffer.from(await r.arrayBuffer()).toString("base64") };
  };
  const [x, y] = [await shape(a), await shape(b)];
  expect(x).toEqual(y);
  return x;
}

/** A Health/Check POST of this body (protobuf or JSON) through both handlers, which must answer it alike. */
const checkProto = async (body: Uint8Array, headers: Record<string, string> = {}) =>
  expectSame(
    await both(URL_CHECK, { method: "POST", headers: { "content-type": "application/proto", ...headers }, body }),
  );
const checkJson = async (body: string) =>
  expectSame(await both(URL_CHECK, { method: "POST", headers: { "content-type": "application/json" }, body }));
/** An answer's body read as JSON (an error's, or a JSON call's message). */
const bodyJson = (r: { body: string }) => JSON.parse(Buffer.from(r.body, "base64").toString());

describe("the Connect unary fast lane answers as createFetchHandler does", () => {
  test("binary success with response headers, trailers and the interceptor's header", async () => {
    const r = await checkProto(proto(""), { "x-tag": "a" });
    expect(r.status).toBe(200);
    expect(r.headers["x-served-by"]).toBe("test");
    expect(r.headers["trailer-x-done"]).toBe("1");
    expect(r.headers["x-intercepted"]).toBe("yes");
    expect(seen.filter((t) => t === "a")).toHaveLength(2);
  });

  test("JSON success", async () => {
    const r = await checkJson('{"service":""}');
    expect(bodyJson(r)).toEqual({ status: "SERVING" });
  });

  test("an error with metadata: status, error JSON and headers", async () => {
    const r = await checkJson('{"service":"nope"}');
    expect(r.status).toBe(404);
    expect(r.headers["x-why"]).toBe("unknown");
    expect(bodyJson(r).code).toBe("not_found");
  });

  test("a thrown non-Connect error is internal", async () => {
    const r = await checkProto(proto("crash"));
    expect(r.status).toBe(500);
  });

  test("malformed JSON, broken protobuf", async () => {
    const j = await checkJson("{");
    expect(bodyJson(j).code).toBe("invalid_argument");
    const p = await checkProto(new Uint8Array([0x0a, 0xff]));
    expect(p.status).not.toBe(200);
  });

  test("a body over readMaxBytes is resource_exhausted", async () => {
    const r = await checkProto(proto("x".repeat(100)));
    expect(bodyJson(r).code).toBe("resource_exhausted");
  });

  test("a malformed timeout header, and a timeout that passes while the handler waits", async () => {
    const bad = await checkProto(proto(""), { "connect-timeout-ms": "soon" });
    expect(bad.status).toBe(400);
    const slow = await checkProto(proto("slow"), { "connect-timeout-ms": "20" });
    expect(bodyJson(slow).code).toBe("deadline_exceeded");
  });

  test("everything but an uncompressed unary POST takes the usual route", () => {
    const body = proto("");
    expect(fast(new Request(URL_CHECK, { method: "GET" }))).toBeUndefined();
    expect(
      fast(new Request(URL_CHECK, { method: "POST", headers: { "content-type": "application/grpc-web+proto" }, body })),
    ).toBeUndefined();
    expect(
      fast(
        new Request(URL_CHECK, {
          method: "POST",
          headers: { "content-type": "application/proto", "content-encoding": "gzip" },
          body,
        }),
      ),
    ).toBeUndefined();
    expect(
      fast(
        new Request("http://svc.test/grpc.health.v1.Health/Watch", {
          method: "POST",
          headers: { "content-type": "application/connect+proto" },
          body,
        }),
      ),
    ).toBeUndefined();
    expect(
      fast(
        new Request("http://svc.test/grpc.health.v1.Health/Nope", {
          method: "POST",
          headers: { "content-type": "application/proto" },
          body,
        }),
      ),
    ).toBeUndefined();
    expect(
      fast(new Request(`${URL_CHECK}?x=1`, { method: "POST", headers: { "content-type": "application/proto" }, body })),
    ).toBeDefined();
  });

  test("methods with options of their own, and response compression a client may ask for, take the usual route", async () => {
    const body = proto("");
    const init = { method: "POST", headers: { "content-type": "application/proto" }, body };
    const own = connectUnaryFastLane((r) =>
      r.service(Health, { check: () => ({ status: Status.SERVING }) }, { readMaxBytes: 8 }),
    );
    expect(own(new Request(URL_CHECK, init))).toBeUndefined();
    const { compressionGzip } = await import("@connectrpc/connect-node");
    const gzip = connectUnaryFastLane((r) => r.service(Health, { check: () => ({ status: Status.SERVING }) }), {
      acceptCompression: [compressionGzip],
    });
    expect(
      gzip(new Request(URL_CHECK, { ...init, headers: { ...init.headers, "accept-encoding": "gzip" } })),
    ).toBeUndefined();
    expect(gzip(new Request(URL_CHECK, init))).toBeDefined();
  });

  test("the request gate runs before the body is read, as in connect-es", async () => {
    const gated = { requestGate: () => Promise.reject(new ConnectError("not now", Code.PermissionDenied)) };
    const gatedRoutes = (r: ConnectRouter) => r.service(Health, { check: () => ({ status: Status.SERVING }) });
    const lane = connectUnaryFastLane(gatedRoutes, gated);
    const stockRouter = createConnectRouter(gated);
    gatedRoutes(stockRouter);
    const handler = createFetchHandler(
      stockRouter.handlers.find((h) => h.method.name === "Check")!,
      { httpVersion: "1.1" },
    );
    const init = { method: "POST", headers: { "content-type": "application/proto" }, body: proto("") };
    const r = await expectSame([
      await lane(new Request(URL_CHECK, init))!,
      await handler(new Request(URL_CHECK, init)),
    ]);
    expect(r.status).toBe(403);
  });

  test("the handler's signal ends as in connect-es: at the deadline, when the client goes, when the server shuts down, when answered", async () => {
    // What the handler's signal said, and when it aborted, for each way a call ends.
    const observe = (shutdownSignal?: AbortSignal) => {
      const seen: { aborted: boolean; reason?: string; code?: string }[] = [];
      const state = (signal: AbortSignal) => ({
        aborted: signal.aborted,
        reason: String(signal.reason?.message ?? signal.reason),
        code: signal.reason instanceof ConnectError ? Code[signal.reason.code] : undefined,
      });
      let waiting!: () => void;
      const started = new Promise<void>((r) => (waiting = r));
      let signal: AbortSignal | undefined;
      const r = (router: ConnectRouter) =>
        router.service(Health, {
          async check(req, ctx) {
            signal = ctx.signal;
            if (req.service === "wait") {
              waiting();
              await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve, { once: true }));
            }
            seen.push(state(ctx.signal));
            return { status: Status.SERVING };
          },
        });
      const opts = { shutdownSignal };
      const stockRouter = createConnectRouter(opts);
      r(stockRouter);
      // Once the call is over, the signal must end with it (read then, within a bound).
      const ended = async () =>
        seen.push(
          state(
            await waitFor(() => signal?.aborted && signal, {
              timeoutMs: 2000,
              what: "the handler's signal to end with the call",
            }),
          ),
        );
      return {
        seen,
        started,
        ended,
        lane: connectUnaryFastLane(r, opts),
        stock: createFetchHandler(
          stockRouter.handlers.find((h) => h.method.name === "Check")!,
          { httpVersion: "1.1" },
        ),
      };
    };
    const outcomes = async (
      call: (o: ReturnType<typeof observe>, handler: (req: Request) => Promise<Response>) => Promise<unknown>,
      shutdown?: () => AbortController,
    ) => {
      const out = [];
      for (const which of ["lane", "stock"] as const) {
        const controller = shutdown?.();
        const o = observe(controller?.signal);
        await call(o, (req) => (which === "lane" ? o.lane(req)! : o.stock(req)));
        if (controller) controller.abort(new ConnectError("server stopping", Code.Unavailable));
        await o.ended();
        out.push(o.seen);
      }
      // While the call runs, the same state and reason; once it is over, both aborted (an answered call's
      // reason differs: connect-es gives none, an AbortError; the lane a Canceled "the call has ended" made once).
      expect(out[0]![0]).toEqual(out[1]![0]!);
      expect(out[0]!.map((s) => s.aborted)).toEqual(out[1]!.map((s) => s.aborted));
      return out[0]!;
    };
    const init = (service: string, headers: Record<string, string> = {}, signal?: AbortSignal) => ({
      method: "POST",
      headers: { "content-type": "application/proto", ...headers },
      body: proto(service),
      signal,
    });

    // Answered at once: not aborted while it runs, aborted after.
    const answered = await outcomes((_, h) => h(new Request(URL_CHECK, init(""))));
    expect(answered.map((s) => s.aborted)).toEqual([false, true]);
    expect(answered[1]).toMatchObject({ code: "Canceled" });
    // The deadline from the timeout header.
    const deadline = await outcomes((_, h) => h(new Request(URL_CHECK, init("wait", { "connect-timeout-ms": "10" }))));
    expect(deadline[0]).toMatchObject({ aborted: true, code: "DeadlineExceeded" });
    // The client going away.
    const gone = await outcomes(async (o, h) => {
      const client = new AbortController();
      const res = h(new Request(URL_CHECK, init("wait", {}, client.signal)));
      await o.started;
      client.abort(new Error("client gone"));
      await res.catch(() => {});
    });
    expect(gone[0]).toMatchObject({ aborted: true, reason: "client gone" });
    // The server shutting down.
    let stopping!: AbortController;
    const stopped = await outcomes(
      async (o, h) => {
        const res = h(new Request(URL_CHECK, init("wait")));
        await o.started;
        stopping.abort(new ConnectError("server stopping", Code.Unavailable));
        await res;
      },
      () => (stopping = new AbortController()),
    );
    expect(stopped[0]).toMatchObject({ aborted: true, code: "Unavailable" });
  });
});
