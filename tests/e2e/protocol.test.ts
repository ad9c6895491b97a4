// One set of handlers, every protocol and every client: Connect JSON/binary and gRPC-Web on the
// HTTP/1.1 port, gRPC on the HTTP/2 port, Connect on NATS (the kit's client, as services call each
// other), and bad input answered in each protocol's own terms.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { create, toBinary, fromBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  PaymentService,
  PaymentStatus,
  ProcessPaymentRequestSchema,
  ProcessPaymentResponseSchema,
} from "../../services/contracts/gen/shop/payment/v1/payment_service_pb";
import {
  HealthCheckRequestSchema,
  HealthCheckResponseSchema,
  HealthCheckResponse_ServingStatus,
} from "../../services/contracts/gen/health/v1/health_pb";
import { connect, headers as natsHeaders, type NatsConnection } from "@nats-io/transport-node";
import { createLogger } from "../../services/kit";
import { staticPolicies } from "../../services/kit/resilience";
import { createServiceClients, rpcSubject, type ServiceClients } from "../../services/kit/rpc";
import { startServiceProcess, type ServiceProcess } from "../../services/kit/testing";
import { ViolationsSchema, type Violations } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { grpcFrame, grpcStatus, http2Call } from "./support/http2-call";

const LIMIT = 4096;
const NATS_URL = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
// A namespace of its own: the kit's client over NATS finds this payment instance and no other.
const namespace = `proto${crypto.randomUUID().slice(0, 8)}`;
let payment: ServiceProcess;
let nc: NatsConnection;
let bus: ServiceClients;
const dataDir = mkdtempSync(join(tmpdir(), "protocol-"));

beforeAll(async () => {
  payment = await startServiceProcess("payment", {
    env: { MAX_BODY_BYTES: String(LIMIT), DATA_DIR: dataDir, PLATFORM_NAMESPACE: namespace },
  });
  nc = await connect({ servers: NATS_URL.split(",") });
  bus = createServiceClients(nc, {
    namespace,
    log: createLogger("protocol-test", "silent"),
    policies: staticPolicies(),
    transport: "nats",
  });
  await bus.ready;
});
afterAll(async () => {
  await bus?.stop();
  await nc?.close();
  await payment?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** The payment instance's own subject for a method, as the kit's client sends to it. */
/** Calls of ProcessPayment the service ran (its interceptors counted), from its metrics. */
async function paymentCount(): Promise<number> {
  const text = await (await fetch(`${payment.ops ?? payment.http}/metrics`)).text();
  let n = 0;
  for (const m of text.matchAll(/rpc_server_duration_seconds_count\{[^}]*ProcessPayment[^}]*\} (\d+)/g))
    n += Number(m[1]);
  return n;
}

const onBus = (method: string) =>
  rpcSubject(namespace, "payment", `/shop.payment.v1.PaymentService/${method}`, payment.id);

const charge = (key: string, token = "tok_success") => ({
  orderId: crypto.randomUUID(),
  amount: { amountMinor: 1999n, currency: "EUR" },
  cardToken: token,
  idempotencyKey: key,
});

function noStackTrace(text: string) {
  expect(text).not.toMatch(/\n\s+at /);
  expect(text).not.toContain(".ts:");
}

describe("every Connect client, one set of handlers", () => {
  const clients: [string, () => Client<typeof PaymentService>][] = [
    [
      "Connect binary over HTTP/1.1",
      () => createClient(PaymentService, createConnectTransport({ baseUrl: payment.http, httpVersion: "1.1" })),
    ],
    [
      "Connect JSON over HTTP/1.1",
      () =>
        createClient(
          PaymentService,
          createConnectTransport({ baseUrl: payment.http, httpVersion: "1.1", useBinaryFormat: false }),
        ),
    ],
    [
      "Connect GET for a side-effect-free method",
      () =>
        createClient(
          PaymentService,
          createConnectTransport({ baseUrl: payment.http, httpVersion: "1.1", useHttpGet: true }),
        ),
    ],
    [
      "gRPC-Web over HTTP/1.1",
      () => createClient(PaymentService, createGrpcWebTransport({ baseUrl: payment.http, httpVersion: "1.1" })),
    ],
    ["gRPC over HTTP/2", () => createClient(PaymentService, createGrpcTransport({ baseUrl: payment.grpc! }))],
    [
      "Connect over HTTP/2",
      () => createClient(PaymentService, createConnectTransport({ baseUrl: payment.grpc!, httpVersion: "2" })),
    ],
    ["Connect binary over NATS (the kit's client)", () => bus.connect(PaymentService)],
  ];
  for (const [name, makeClient] of clients) {
    test(name, async () => {
      const client = makeClient();
      const key = crypto.randomUUID();
      const { payment: charged } = await client.processPayment(charge(key));
      expect(charged?.status).toBe(PaymentStatus.CAPTURED);
      expect(charged?.amount?.amountMinor).toBe(1999n);
      const { payment: read } = await client.getPaymentStatus({ paymentId: charged!.id });
      expect(read?.id).toBe(charged!.id);
      // Idempotent on the key, whatever the protocol.
      const again = await client.processPayment({ ...charge(key), orderId: charged!.orderId });
      expect(again.payment?.id).toBe(charged!.id);
      const missing = await client.getPaymentStatus({ paymentId: "pay_missing" }).catch((e) => e);
      expect(ConnectError.from(missing).code).toBe(Code.NotFound);
    });
  }

  test("validation errors name the field, in the same words on every protocol, both ports and NATS", async () => {
    const clients = {
      connectJson: createClient(
        PaymentService,
        createConnectTransport({ baseUrl: payment.http, httpVersion: "1.1", useBinaryFormat: false }),
      ),
      connectBinary: createClient(
        PaymentService,
        createConnectTransport({ baseUrl: payment.http, httpVersion: "1.1", useBinaryFormat: true }),
      ),
      grpcWeb: createClient(PaymentService, createGrpcWebTransport({ baseUrl: payment.http, httpVersion: "1.1" })),
      grpc: createClient(PaymentService, createGrpcTransport({ baseUrl: payment.grpc! })),
      nats: bus.connect(PaymentService),
    };
    const refused = (call: Promise<unknown>) =>
      call.then(
        () => {
          throw new Error("a request that breaks its rules was served");
        },
        (e) => ConnectError.from(e),
      );
    const refusals = async (client: Client<typeof PaymentService>) => {
      const bad = await refused(
        client.processPayment({ ...charge(crypto.randomUUID()), amount: { amountMinor: -5n, currency: "EUR" } }),
      );
      const noCurrency = await refused(
        client.processPayment({ ...charge(crypto.randomUUID()), amount: { amountMinor: 5n, currency: "XXX" } }),
      );
      const noKey = await refused(client.processPayment({ ...charge(""), idempotencyKey: "" }));
      return [bad, noCurrency, noKey].map((e) => ({
        code: e.code,
        message: e.rawMessage,
        // The rules' own report travels as buf.validate.Violations in the error details.
        fields: (e.findDetails(ViolationsSchema) as Violations[]).flatMap((v) =>
          v.violations.map((x) => x.field?.elements.map((el) => el.fieldName).join(".")),
        ),
      }));
    };
    const expected = [
      { code: Code.InvalidArgument, message: "amount.amount_minor must be positive", fields: ["amount.amount_minor"] },
      {
        code: Code.InvalidArgument,
        message: 'amount.currency must be one of EUR, USD, GBP, got "XXX"',
        fields: ["amount.currency"],
      },
      { code: Code.InvalidArgument, message: "idempotency_key is required", fields: ["idempotency_key"] },
    ];
    for (const [name, client] of Object.entries(clients))
      expect({ name, answers: await refusals(client) }).toEqual({ name, answers: expected });
  });
});

describe("curl-style Connect on the HTTP/1.1 port", () => {
  const post = (path: string, body: string | Uint8Array, contentType = "application/json") =>
    fetch(`${payment.http}${path}`, { method: "POST", headers: { "content-type": contentType }, body });
  const method = "/shop.payment.v1.PaymentService/ProcessPayment";

  test("plain JSON works", async () => {
    const res = await post(
      method,
      JSON.stringify({
        orderId: crypto.randomUUID(),
        amount: { amountMinor: "250", currency: "USD" },
        cardToken: "tok_declined",
        idempotencyKey: crypto.randomUUID(),
      }),
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    expect(body.payment.status).toBe("PAYMENT_STATUS_DECLINED");
    expect(body.payment.declineReason).toBe("card declined by issuer");
  });

  test("malformed JSON is invalid_argument (400)", async () => {
    const res = await post(method, "{not json");
    expect(res.status).toBe(400);
    const body = (await res.json()) as any;
    expect(body.code).toBe("invalid_argument");
    expect(body.message).toBeTruthy();
    noStackTrace(JSON.stringify(body));
  });

  test("a string where a number goes is invalid_argument", async () => {
    const res = await post(method, JSON.stringify({ amount: { amountMinor: "lots", currency: "EUR" } }));
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).code).toBe("invalid_argument");
  });

  test("a wrong content-type is 415", async () => {
    const res = await post(method, "orderId=1", "application/x-www-form-urlencoded");
    expect(res.status).toBe(415);
    noStackTrace(await res.text());
  });

  test("an unknown method is unimplemented (404)", async () => {
    const res = await post("/shop.payment.v1.PaymentService/StealMoney", "{}");
    expect(res.status).toBe(404);
    expect((await res.json()) as any).toMatchObject({ code: "unimplemented" });
    const unknownService = await post("/shop.nothing.v1.Nope/Call", "{}");
    expect(unknownService.status).toBe(404);
    expect((await unknownService.json()) as any).toMatchObject({ code: "unimplemented" });
  });

  test("an oversized body is resource_exhausted", async () => {
    const res = await post(method, JSON.stringify({ orderId: "x".repeat(LIMIT * 1.5) }));
    expect(res.status).toBe(429); // Connect maps resource_exhausted to 429
    expect(((await res.json()) as any).code).toBe("resource_exhausted");
    // Far beyond the limit: still a clean answer, not a reset connection.
    const huge = await post(method, JSON.stringify({ orderId: "x".repeat(LIMIT * 8) }));
    expect([413, 429]).toContain(huge.status);
  });

  // gRPC's status table prescribes INTERNAL for "error parsing request proto"; connect-es follows it.
  test("a broken protobuf body is a clear internal error", async () => {
    const res = await post(method, new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]), "application/proto");
    expect(res.status).toBe(500);
    const body = (await res.json()) as any;
    expect(body).toMatchObject({ code: "internal", message: expect.stringMatching(/^parse binary: /) });
    noStackTrace(JSON.stringify(body));
  });

  test("a truncated gRPC-Web frame is an error, not a hang", async () => {
    const res = await post(method, new Uint8Array([0, 0, 0, 0, 50, 1, 2]), "application/grpc-web+proto");
    const text = Buffer.from(await res.arrayBuffer()).toString("latin1");
    expect(res.headers.get("grpc-status") ?? text).toMatch(/(grpc-status:\s*)?(3|13)\b/);
  });
});

describe("raw gRPC on the HTTP/2 port", () => {
  const method = "/shop.payment.v1.PaymentService/ProcessPayment";
  const grpcHeaders = { "content-type": "application/grpc", te: "trailers" };

  test("a well-formed call succeeds", async () => {
    const req = toBinary(ProcessPaymentRequestSchema, create(ProcessPaymentRequestSchema, charge(crypto.randomUUID())));
    const res = await http2Call(payment.grpc!, method, { headers: grpcHeaders, body: grpcFrame(req) });
    expect(grpcStatus(res).code).toBe(0);
    const reply = fromBinary(ProcessPaymentResponseSchema, res.body.subarray(5));
    expect(reply.payment?.status).toBe(PaymentStatus.CAPTURED);
  });

  test("a broken protobuf frame is INTERNAL with a clear message", async () => {
    const res = await http2Call(payment.grpc!, method, {
      headers: grpcHeaders,
      body: grpcFrame(new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f])),
    });
    expect(grpcStatus(res)).toMatchObject({ code: Code.Internal, message: expect.stringMatching(/^parse binary: /) });
    noStackTrace(grpcStatus(res).message);
  });

  test("a truncated frame is an error, not a hang", async () => {
    const res = await http2Call(payment.grpc!, method, {
      headers: grpcHeaders,
      body: Buffer.from([0, 0, 0, 0, 40, 1, 2, 3]),
    });
    expect([Code.InvalidArgument, Code.Internal]).toContain(grpcStatus(res).code);
  });

  test("an unknown method is UNIMPLEMENTED", async () => {
    const res = await http2Call(payment.grpc!, "/shop.payment.v1.PaymentService/StealMoney", {
      headers: grpcHeaders,
      body: grpcFrame(new Uint8Array()),
    });
    expect(grpcStatus(res).code).toBe(Code.Unimplemented);
  });

  test("an oversized message is RESOURCE_EXHAUSTED", async () => {
    const req = toBinary(
      ProcessPaymentRequestSchema,
      create(ProcessPaymentRequestSchema, { orderId: "x".repeat(LIMIT * 2) }),
    );
    const res = await http2Call(payment.grpc!, method, { headers: grpcHeaders, body: grpcFrame(req) });
    expect(grpcStatus(res).code).toBe(Code.ResourceExhausted);
  });

  test("a wrong content-type is 415", async () => {
    const res = await http2Call(payment.grpc!, method, {
      headers: { "content-type": "text/plain" },
      body: Buffer.from("hi"),
    });
    expect(res.status).toBe(415);
  });

  test("malformed Connect JSON over HTTP/2 is invalid_argument", async () => {
    const res = await http2Call(payment.grpc!, method, {
      headers: { "content-type": "application/json" },
      body: Buffer.from("{oops"),
    });
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body.toString()).code).toBe("invalid_argument");
  });
});

describe("@grpc/grpc-js, a client that knows nothing of Connect", () => {
  const unary = (path: string, encode: (m: any) => Uint8Array, decode: (b: Buffer) => any) => ({
    path,
    requestStream: false,
    responseStream: false,
    requestSerialize: (m: any) => Buffer.from(encode(m)),
    requestDeserialize: decode,
    responseSerialize: (m: any) => Buffer.from(encode(m)),
    responseDeserialize: decode,
  });
  let client: grpc.Client & Record<string, Function>;
  beforeAll(() => {
    const Ctor = grpc.makeGenericClientConstructor(
      {
        processPayment: unary(
          "/shop.payment.v1.PaymentService/ProcessPayment",
          (m) => toBinary(ProcessPaymentRequestSchema, m),
          (b) => fromBinary(ProcessPaymentResponseSchema, b),
        ),
        stealMoney: unary(
          "/shop.payment.v1.PaymentService/StealMoney",
          (m) => toBinary(ProcessPaymentRequestSchema, m),
          (b) => fromBinary(ProcessPaymentResponseSchema, b),
        ),
        check: unary(
          "/grpc.health.v1.Health/Check",
          (m) => toBinary(HealthCheckRequestSchema, m),
          (b) => fromBinary(HealthCheckResponseSchema, b),
        ),
      },
      "Payment",
    );
    client = new Ctor(payment.grpc!.replace("http://", ""), grpc.credentials.createInsecure()) as any;
  });
  afterAll(() => client?.close());

  const call = (name: string, req: unknown) =>
    new Promise<any>((resolve, reject) =>
      client[name]!(req, (err: grpc.ServiceError | null, res: unknown) => (err ? reject(err) : resolve(res))),
    );

  test("ProcessPayment", async () => {
    const res = await call("processPayment", create(ProcessPaymentRequestSchema, charge(crypto.randomUUID())));
    expect(res.payment.status).toBe(PaymentStatus.CAPTURED);
  });

  test("validation error arrives as INVALID_ARGUMENT naming the field", async () => {
    const err = await call(
      "processPayment",
      create(ProcessPaymentRequestSchema, { ...charge(crypto.randomUUID()), cardToken: "" }),
    ).catch((e) => e);
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toContain("card_token");
  });

  test("unknown method is UNIMPLEMENTED", async () => {
    const err = await call("stealMoney", create(ProcessPaymentRequestSchema, {})).catch((e) => e);
    expect(err.details).toBe("shop.payment.v1.PaymentService/StealMoney is not a method of this server");
    expect(err.code).toBe(grpc.status.UNIMPLEMENTED);
  });

  test("grpc.health.v1.Health/Check, overall and per service", async () => {
    expect((await call("check", create(HealthCheckRequestSchema, {}))).status).toBe(
      HealthCheckResponse_ServingStatus.SERVING,
    );
    expect(
      (await call("check", create(HealthCheckRequestSchema, { service: "shop.payment.v1.PaymentService" }))).status,
    ).toBe(HealthCheckResponse_ServingStatus.SERVING);
    const err = await call("check", create(HealthCheckRequestSchema, { service: "shop.nothing.v1.Nope" })).catch(
      (e) => e,
    );
    expect(err.code).toBe(grpc.status.NOT_FOUND);
  });
});

describe("Connect on NATS, against the process", () => {
  test("every call of the kit's client came over the bus, counted per endpoint in $SRV.STATS", async () => {
    await bus
      .connect(PaymentService)
      .getPaymentStatus({ paymentId: "pay_missing" })
      .catch(() => {});
    const stats = (await nc.request(`$SRV.STATS.${namespace}-payment.${payment.id}`)).json<{
      endpoints: { subject: string; num_requests: number; num_errors: number }[];
    }>();
    const get = stats.endpoints.find((e) => e.subject === onBus("GetPaymentStatus"))!;
    expect(get.num_requests).toBeGreaterThan(0);
    expect(get.num_errors).toBeGreaterThan(0); // the NotFound answers
  });

  test("a broken protobuf payload is a clear internal error, as over HTTP", async () => {
    const reply = await nc.request(onBus("GetPaymentStatus"), new Uint8Array([0xff, 0xff, 0xff]), { timeout: 5000 });
    expect(reply.headers?.get("rpc-status")).toBe("500");
    const body = reply.json<{ code: string; message: string }>();
    expect(body.code).toBe("internal");
    noStackTrace(body.message);
  });

  test("a request over the service's size limit is resource_exhausted", async () => {
    const big = toBinary(
      ProcessPaymentRequestSchema,
      create(ProcessPaymentRequestSchema, { ...charge(crypto.randomUUID()), cardToken: "x".repeat(LIMIT) }),
    );
    const reply = await nc.request(onBus("ProcessPayment"), big, { timeout: 5000 });
    expect(reply.json<{ code: string }>().code).toBe("resource_exhausted");
    const viaClient = await bus
      .connect(PaymentService)
      .processPayment({ ...charge(crypto.randomUUID()), cardToken: "x".repeat(LIMIT) })
      .catch((e) => e);
    // Refused as it is, not retried into "unavailable": the same request would get the same answer.
    expect(ConnectError.from(viaClient).code).toBe(Code.ResourceExhausted);
    expect(ConnectError.from(viaClient).rawMessage).toContain("readMaxBytes 4096");
  });

  test("JSON with its content type is answered in JSON; an unknown content type is invalid_argument", async () => {
    const h = natsHeaders();
    h.set("content-type", "application/json");
    const json = await nc.request(onBus("GetPaymentStatus"), JSON.stringify({ paymentId: "pay_missing" }), {
      headers: h,
      timeout: 5000,
    });
    expect(json.headers?.get("rpc-status")).toBe("404");
    expect(json.json<{ code: string }>().code).toBe("not_found");
    const odd = natsHeaders();
    odd.set("content-type", "text/plain");
    const refused = await nc.request(onBus("GetPaymentStatus"), "hello", { headers: odd, timeout: 5000 });
    expect(refused.json<{ code: string; message: string }>()).toMatchObject({ code: "invalid_argument" });
  });

  test("a method nobody serves on the bus: NATS says so at once (no responders), nothing waits", async () => {
    const started = Date.now();
    const e = await nc.request(onBus("NoSuchMethod"), new Uint8Array(), { timeout: 5000 }).catch((err) => err);
    expect(String(e)).toMatch(/no responders/i);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  test("a deadline that passed before the call is served: deadline_exceeded, nothing run", async () => {
    const h = natsHeaders();
    h.set("connect-timeout-ms", "0");
    const before = await paymentCount();
    const reply = await nc.request(
      onBus("ProcessPayment"),
      toBinary(ProcessPaymentRequestSchema, create(ProcessPaymentRequestSchema, charge(crypto.randomUUID()))),
      { headers: h, timeout: 5000 },
    );
    expect(reply.json<{ code: string }>().code).toBe("deadline_exceeded");
    expect(await paymentCount()).toBe(before);
  });
});

describe("probes", () => {
  test("/healthz, /readyz and /metrics", async () => {
    const healthz = await fetch(`${payment.http}/healthz`);
    expect(healthz.status).toBe(200);
    const readyz = await fetch(`${payment.http}/readyz`);
    expect(readyz.status).toBe(200);
    expect((await readyz.json()) as any).toMatchObject({ status: "ready", checks: { nats: "ok" } });
    const metrics = await (await fetch(`${payment.http}/metrics`)).text();
    expect(metrics).toContain("rpc_server_duration_seconds_bucket");
    expect(metrics).toMatch(
      /rpc_server_duration_seconds_count\{[^}]*method="shop.payment.v1.PaymentService\/ProcessPayment"[^}]*\} [1-9]/,
    );
  });
});
