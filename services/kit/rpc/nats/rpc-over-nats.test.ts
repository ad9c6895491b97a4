// Connect over NATS against Connect over HTTP, in this process on the real NATS: one kit service, the
// same generated client through both transports, and every answer compared: messages, codes, messages
// and details of errors, headers and trailers, deadlines, cancellation, size limits, malformed payloads.
// Then what only the bus does: $SRV.STATS per endpoint, the queue-group subject, no responders, a call
// whose deadline passed, and a graceful stop that finishes the calls it took.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { Svcm } from "@nats-io/services";
import {
  GetPaymentStatusRequestSchema,
  PaymentService,
  PaymentSchema,
} from "../../../contracts/gen/shop/payment/v1/payment_service_pb";
import { createLogger } from "../../log";
import { registeredName } from "../../nats/namespace";
import { neverSent } from "../../resilience/error-classification";
import { staticPolicies } from "../../resilience/policy-source";
import { startService, type RunningService, type ServiceDefinition } from "../../service";
import { startTestNatsServer } from "../../testing/test-nats-server";
import { waitFor } from "../../testing/service-process";
import { createServiceClients, type RpcTransport, type ServiceClients } from "../service-client";
import { NatsUnaryCalls } from "./nats-unary-call";
import { rpcSubject } from "./subjects";

const natsUrl = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
const namespace = `rpcnats${crypto.randomUUID().slice(0, 8)}`;
const LIMIT = 4096;
const GET = "/shop.payment.v1.PaymentService/GetPaymentStatus";

/** What the handlers saw, for the assertions on the serving side. */
const seen = { calls: 0, charges: 0, aborted: [] as string[] };

/** GetPaymentStatus answers by the id it is asked for: each id is a scenario. */
const definition = (name: string, tag = ""): ServiceDefinition => ({
  name,
  version: "1.0.0",
  description: "the NATS transport's test service",
  // Scenarios ride in the ids ("slow:3000", a payment id over max_payload): this tests the transport, not the rules.
  validateRequests: false,
  ports: { http: 0 },
  build: () => ({
    rpc: (router) =>
      router.service(PaymentService, {
        // A charge without an idempotency key: a call that may not be repeated.
        async processPayment(req) {
          seen.charges++;
          await Bun.sleep(Number(req.orderId.split(":")[1] ?? 0));
          return { payment: { id: `charged ${req.orderId}` } };
        },
        async getPaymentStatus(req, ctx) {
          seen.calls++;
          const [scenario, arg] = req.paymentId.split(":");
          switch (scenario) {
            case "who":
              return { payment: { id: tag } };
            case "ok":
              return { payment: { id: req.paymentId, declineReason: ctx.requestHeader.get("x-ask") ?? "" } };
            case "not-found":
              throw new ConnectError("no payment 42", Code.NotFound, { "x-why": "never made" }, [
                { desc: PaymentSchema, value: create(PaymentSchema, { id: "42" }) },
              ]);
            case "metadata":
              ctx.responseHeader.set("x-header", "h-value");
              ctx.responseTrailer.set("x-trailer", "t-value");
              return { payment: { id: "meta" } };
            case "slow":
              await new Promise<void>((resolve) => {
                const t = setTimeout(resolve, Number(arg));
                ctx.signal.addEventListener("abort", () => {
                  clearTimeout(t);
                  seen.aborted.push(String(ConnectError.from(ctx.signal.reason).code));
                  resolve();
                });
              });
              return { payment: { id: "slow" } };
            case "big":
              return { payment: { id: "big", declineReason: "x".repeat(Number(arg)) } };
            case "crash":
              throw new Error("a bug in the handler");
          }
          return { payment: { id: "?" } };
        },
      }),
  }),
});

/** The test's payment in namespace `ns` on NATS at `url`, answering "who" with `tag`. */
const startPayment = (ns: string, { url = natsUrl, tag = "", env = {} as Record<string, string> } = {}) =>
  startService(definition("payment", tag), {
    NATS_URL: url,
    PLATFORM_NAMESPACE: ns,
    LOG_LEVEL: "silent",
    RESILIENCE_POLICY_BUCKET: `${ns}_none`,
    ...env,
  });

/** The kit's clients for namespace `ns`, retries off when asked (a scenario's first answer is the one compared). */
const clientsOf = (
  conn: NatsConnection,
  ns: string,
  { transport, noRetries = false } = {} as { transport?: RpcTransport; noRetries?: boolean },
) =>
  createServiceClients(conn, {
    namespace: ns,
    log: createLogger("test", "silent"),
    policies: staticPolicies(noRetries ? { payment: { retry: { maxRetries: 0 } } } : {}),
    transport,
  });

let service: RunningService;
let nc: NatsConnection;
const clientSets: ServiceClients[] = [];
const clients = {} as Record<RpcTransport, Client<typeof PaymentService>>;

beforeAll(async () => {
  service = await startPayment(namespace, { env: { MAX_BODY_BYTES: String(LIMIT) } });
  nc = await connect({ servers: natsUrl });
  for (const transport of ["nats", "http"] as const) {
    const set = clientsOf(nc, namespace, { transport, noRetries: true });
    clientSets.push(set);
    clients[transport] = set.connect(PaymentService);
  }
});

afterAll(async () => {
  for (const c of clientSets) await c.stop();
  await service?.stop();
  await nc?.close();
});

/** This instance's figures for one endpoint, from $SRV.STATS. */
async function endpointStats(endpoint: string) {
  const stats = await new Svcm(nc).client().stats(registeredName(namespace, "payment"), service.id);
  for await (const s of stats) {
    const e = s.endpoints?.find((x) => x.name === endpoint);
    if (e) return e;
  }
  throw new Error(`no endpoint ${endpoint}`);
}

/** One call through the NATS transport alone (no policies in between): the protocol's own answer. */
async function rawCall(subject: string, input: { paymentId: string }): Promise<ConnectError> {
  const calls = new NatsUnaryCalls(nc);
  try {
    return await failure(
      calls.call(PaymentService.method.getPaymentStatus, {
        subject,
        signal: new AbortController().signal,
        timeoutMs: 5000,
        header: undefined,
        input,
      }),
    );
  } finally {
    calls.close();
  }
}

const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (e) => ConnectError.from(e),
  );

describe("the same answers over NATS as over HTTP", () => {
  test("a message, and the caller's headers reach the handler", async () => {
    for (const t of ["nats", "http"] as const) {
      const res = await clients[t].getPaymentStatus({ paymentId: "ok:1" }, { headers: { "x-ask": `via ${t}` } });
      expect(res.payment?.id).toBe("ok:1");
      expect(res.payment?.declineReason).toBe(`via ${t}`);
    }
  });

  test("an error: code, message, details and metadata", async () => {
    const [nats, http] = await Promise.all(
      (["nats", "http"] as const).map((t) => failure(clients[t].getPaymentStatus({ paymentId: "not-found" }))),
    );
    expect(nats.code).toBe(Code.NotFound);
    expect(nats.rawMessage).toBe("no payment 42");
    expect(nats.metadata.get("x-why")).toBe("never made");
    expect(nats.findDetails(PaymentSchema).map((p) => p.id)).toEqual(["42"]);
    for (const e of [nats, http].map((x) => [x.code, x.rawMessage, x.metadata.get("x-why")]))
      expect(e).toEqual([http.code, http.rawMessage, http.metadata.get("x-why")]);
  });

  test("response headers and trailers", async () => {
    for (const t of ["nats", "http"] as const) {
      let header: Headers | undefined;
      let trailer: Headers | undefined;
      await clients[t].getPaymentStatus(
        { paymentId: "metadata" },
        { onHeader: (h) => (header = h), onTrailer: (h) => (trailer = h) },
      );
      expect(header?.get("x-header")).toBe("h-value");
      expect(trailer?.get("x-trailer")).toBe("t-value");
    }
  });

  test("a handler's own fault is internal, without its stack", async () => {
    const [nats, http] = await Promise.all(
      (["nats", "http"] as const).map((t) => failure(clients[t].getPaymentStatus({ paymentId: "crash" }))),
    );
    expect(nats.code).toBe(Code.Internal);
    // The message names the request's id, which differs.
    const withoutId = (e: ConnectError) => [e.code, e.rawMessage.replace(/\(request [^)]*\)/, "")];
    expect(withoutId(nats)).toEqual(withoutId(http));
  });

  test("the caller's deadline reaches the handler, which is cancelled when it passes", async () => {
    for (const t of ["nats", "http"] as const) {
      const before = seen.aborted.length;
      const e = await failure(clients[t].getPaymentStatus({ paymentId: "slow:5000" }, { timeoutMs: 200 }));
      expect(e.code).toBe(Code.DeadlineExceeded);
      const until = Date.now() + 5000;
      while (seen.aborted.length === before && Date.now() < until) await Bun.sleep(10);
      // Over HTTP the client's closing the connection may reach the handler first (Canceled); over NATS
      // the deadline from Connect-Timeout-Ms does.
      expect(seen.aborted.slice(before).length).toBe(1);
      if (t === "nats") expect(seen.aborted.slice(before)).toEqual([String(Code.DeadlineExceeded)]);
    }
  });

  test("a caller that cancels stops waiting at once", async () => {
    for (const t of ["nats", "http"] as const) {
      const controller = new AbortController();
      const call = failure(clients[t].getPaymentStatus({ paymentId: "slow:3000" }, { signal: controller.signal }));
      await Bun.sleep(50);
      const cancelledAt = Date.now();
      controller.abort();
      const e = await call;
      expect(e.code).toBe(Code.Canceled);
      // Well before the handler's 3 s: the caller did not wait for an answer.
      expect(Date.now() - cancelledAt).toBeLessThan(1000);
    }
  });

  test("a request over the size limit is resource_exhausted, and the kit's client treats it alike", async () => {
    const big = { paymentId: "ok:" + "x".repeat(LIMIT) };
    const raw = await rawCall(rpcSubject(namespace, "payment", GET, service.id), big);
    expect(raw.code).toBe(Code.ResourceExhausted);
    const [nats, http] = await Promise.all(
      (["nats", "http"] as const).map((t) => failure(clients[t].getPaymentStatus(big))),
    );
    expect(nats.code).toBe(http.code);
  });

  test("a malformed payload gets the same error on both transports", async () => {
    const garbage = new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]);
    const http = await fetch(`${service.endpoints.http}${GET}`, {
      method: "POST",
      headers: { "content-type": "application/proto" },
      body: garbage,
    });
    const reply = await nc.request(rpcSubject(namespace, "payment", GET, service.id), garbage, { timeout: 5000 });
    expect(reply.headers?.get("rpc-status")).toBe(String(http.status));
    expect(reply.json<{ code: string }>().code).toBe(((await http.json()) as { code: string }).code);
  });
});

describe("what the bus adds", () => {
  test("calls over NATS are counted per endpoint in $SRV.STATS, calls over HTTP are not", async () => {
    const before = await endpointStats("shop_payment_v1_PaymentService-GetPaymentStatus-instance");
    await clients.nats.getPaymentStatus({ paymentId: "ok:2" });
    await failure(clients.nats.getPaymentStatus({ paymentId: "not-found" }));
    await clients.http.getPaymentStatus({ paymentId: "ok:3" });
    const after = await endpointStats("shop_payment_v1_PaymentService-GetPaymentStatus-instance");
    expect(after.num_requests - before.num_requests).toBe(2);
    expect(after.num_errors - before.num_errors).toBe(1);
    expect(after.processing_time).toBeGreaterThan(before.processing_time);
    expect(after.last_error).toContain("NotFound");
  });

  test("the queue-group subject answers any caller that speaks the protocol (nats req)", async () => {
    const body = toBinary(GetPaymentStatusRequestSchema, create(GetPaymentStatusRequestSchema, { paymentId: "ok:q" }));
    const reply = await nc.request(rpcSubject(namespace, "payment", GET), body, { timeout: 5000 });
    // Protobuf binary and status 200 go without saying.
    expect(reply.headers?.has("content-type") ?? false).toBe(false);
    expect(reply.headers?.has("rpc-status") ?? false).toBe(false);
    expect(new TextDecoder().decode(reply.data)).toContain("ok:q");
  });

  test("nobody on a subject: unavailable at once, and known as never sent (safe to send elsewhere)", async () => {
    const calls = new NatsUnaryCalls(nc);
    try {
      const e = await failure(
        calls.call(PaymentService.method.getPaymentStatus, {
          subject: rpcSubject(namespace, "payment", GET, "no-such-instance"),
          signal: new AbortController().signal,
          timeoutMs: 30_000,
          header: undefined,
          input: { paymentId: "ok" },
        }),
      );
      expect(e.code).toBe(Code.Unavailable);
      expect(neverSent(e)).toBe(true);
      expect(calls.pending).toBe(0);
    } finally {
      calls.close();
    }
  });

  test("a request whose deadline already passed is not served", async () => {
    const before = seen.calls;
    const body = toBinary(GetPaymentStatusRequestSchema, create(GetPaymentStatusRequestSchema, { paymentId: "ok:d" }));
    const { MsgHdrsImpl } = await import("@nats-io/transport-node");
    const reply = await nc.request(rpcSubject(namespace, "payment", GET, service.id), body, {
      timeout: 5000,
      headers: MsgHdrsImpl.fromRecord({ "connect-timeout-ms": ["0"] }),
    });
    expect(reply.json<{ code: string }>().code).toBe("deadline_exceeded");
    expect(seen.calls).toBe(before);
  });

  test("an answer larger than the server's max_payload is resource_exhausted naming the limit", async () => {
    const max = nc.info!.max_payload;
    const e = await rawCall(rpcSubject(namespace, "payment", GET, service.id), { paymentId: `big:${max}` });
    expect(e.code).toBe(Code.ResourceExhausted);
    expect(e.rawMessage).toContain(`max_payload (${max} bytes)`);
  });

  test("a request larger than max_payload is refused before it is sent, naming the limit", async () => {
    const max = nc.info!.max_payload;
    const calls = new NatsUnaryCalls(nc);
    try {
      const e = await failure(
        calls.call(PaymentService.method.getPaymentStatus, {
          subject: rpcSubject(namespace, "payment", GET, service.id),
          signal: new AbortController().signal,
          timeoutMs: 5000,
          header: undefined,
          input: { paymentId: "x".repeat(max + 1) },
        }),
      );
      expect(e.code).toBe(Code.ResourceExhausted);
      expect(e.rawMessage).toContain(`max_payload (${max} bytes)`);
    } finally {
      calls.close();
    }
  });
});

test("an instance that stops gracefully answers the calls it took, and takes no new one", async () => {
  const name = "payment";
  const other = `${namespace}b`;
  const stopping = await startPayment(other);
  const set = clientsOf(nc, other, { noRetries: true });
  try {
    const client = set.connect(PaymentService);
    await client.getPaymentStatus({ paymentId: "ok:warm" });
    const inFlight = client.getPaymentStatus({ paymentId: "slow:400" }, { timeoutMs: 5000 });
    await Bun.sleep(100);
    const stopped = stopping.stop();
    expect((await inFlight).payment?.id).toBe("slow");
    await stopped;
    const body = toBinary(GetPaymentStatusRequestSchema, create(GetPaymentStatusRequestSchema, { paymentId: "ok" }));
    await expect(nc.request(rpcSubject(other, name, GET, stopping.id), body, { timeout: 2000 })).rejects.toThrow(
      /no responders/i,
    );
  } finally {
    await set.stop();
    await stopping.stop();
  }
});

describe("the bus dropping under calls (a NATS server of the test's own, stopped)", () => {
  test("a call that may not be repeated, waiting for its reply, is answered over HTTP and executed once; calls meanwhile go over HTTP", async () => {
    const server = await startTestNatsServer();
    const ns = `${namespace}c`;
    const own = await startPayment(ns, { url: server.url });
    const conn = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    const set = clientsOf(conn, ns, { noRetries: true });
    try {
      const client = set.connect(PaymentService);
      await client.getPaymentStatus({ paymentId: "ok:warm" });
      const charges = seen.charges;
      const inFlight = client.processPayment({ orderId: "slow:600", cardToken: "tok" }, { timeoutMs: 10_000 });
      await waitFor(() => seen.charges === charges + 1, { timeoutMs: 5000, what: "the slow charge being served" });
      await server.stop();
      expect((await inFlight).payment?.id).toBe("charged slow:600");
      // The HTTP copy found the first one's answer: the charge ran once.
      expect(seen.charges).toBe(charges + 1);
      // With the bus down, a new call goes over HTTP to the instance known before.
      expect((await client.getPaymentStatus({ paymentId: "ok:down" })).payment?.id).toBe("ok:down");
    } finally {
      await set.stop();
      await conn.close().catch(() => {});
      await own.stop();
      await server.destroy();
    }
  });
});

test("two platforms on one NATS never answer each other's calls", async () => {
  const [x, y] = [`${namespace}x`, `${namespace}y`];
  const started = await Promise.all([x, y].map((ns) => startPayment(ns, { tag: ns })));
  const sets = [x, y].map((ns) => clientsOf(nc, ns));
  try {
    for (const [i, ns] of [x, y].entries()) {
      const client = sets[i]!.connect(PaymentService);
      const answers = await Promise.all(
        Array.from({ length: 20 }, () => client.getPaymentStatus({ paymentId: "who" }).then((r) => r.payment?.id)),
      );
      expect(new Set(answers)).toEqual(new Set([ns]));
      // The queue-group subject of one platform reaches its own instances only.
      const body = toBinary(GetPaymentStatusRequestSchema, create(GetPaymentStatusRequestSchema, { paymentId: "who" }));
      const reply = await nc.request(rpcSubject(ns, "payment", GET), body, { timeout: 5000 });
      expect(new TextDecoder().decode(reply.data)).toContain(ns);
    }
  } finally {
    for (const set of sets) await set.stop();
    await Promise.all(started.map((s) => s.stop()));
  }
});
