// Outside tools with no proto files at hand: buf curl through server reflection (v1 and v1alpha),
// and grpc.health.v1.Health/Watch following the service from SERVING to NOT_SERVING on shutdown.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Health, HealthCheckResponse_ServingStatus as Serving } from "../../services/contracts/gen/health/v1/health_pb";
import { startServiceProcess, waitFor, type ServiceProcess, runToExit } from "../../services/kit/testing";

const BUF = join(import.meta.dir, "../../node_modules/.bin/buf");
let payment: ServiceProcess;
let scratch: string;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), "buf-curl-"));
  payment = await startServiceProcess("payment", { env: { DATA_DIR: join(scratch, "data") } });
});
afterAll(async () => {
  await payment?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

/** Runs buf curl from an empty folder, so no proto file or buf.yaml can help it: only reflection. */
const bufCurl = (...args: string[]) =>
  runToExit([BUF, "curl", "--protocol", "grpc", "--http2-prior-knowledge", ...args], {
    cwd: scratch,
    env: { BUF_CACHE_DIR: join(scratch, "cache") },
  });

for (const reflectProtocol of ["grpc-v1", "grpc-v1alpha"]) {
  test(`buf curl lists every method through ${reflectProtocol} reflection`, async () => {
    const { stdout, stderr, code } = await bufCurl(
      "--reflect-protocol",
      reflectProtocol,
      "--list-methods",
      payment.grpc!,
    );
    expect(stderr).toBe("");
    expect(code).toBe(0);
    const methods = stdout.trim().split("\n").sort();
    expect(methods).toEqual(
      [
        "grpc.health.v1.Health/Check",
        "grpc.health.v1.Health/List",
        "grpc.health.v1.Health/Watch",
        "grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        "grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        "shop.payment.v1.PaymentService/GetPaymentStatus",
        "shop.payment.v1.PaymentService/ProcessPayment",
        "shop.payment.v1.PaymentService/RefundPayment",
      ].sort(),
    );
  });
}

test("buf curl calls a method using only the schema it got from reflection", async () => {
  const body = JSON.stringify({
    orderId: crypto.randomUUID(),
    amount: { amountMinor: "500", currency: "GBP" },
    cardToken: "tok_success",
    idempotencyKey: crypto.randomUUID(),
  });
  const { stdout, stderr, code } = await bufCurl(
    "-d",
    body,
    `${payment.grpc}/shop.payment.v1.PaymentService/ProcessPayment`,
  );
  expect(stderr).toBe("");
  expect(code).toBe(0);
  const reply = JSON.parse(stdout);
  expect(reply.payment).toMatchObject({
    status: "PAYMENT_STATUS_CAPTURED",
    amount: { amountMinor: "500", currency: "GBP" },
  });

  const notFound = await bufCurl(
    "-d",
    '{"paymentId":"nope"}',
    `${payment.grpc}/shop.payment.v1.PaymentService/GetPaymentStatus`,
  );
  expect(notFound.code).not.toBe(0);
  expect(notFound.stderr).toContain("not_found");
});

test("Health/Watch reports SERVING, then NOT_SERVING when the service shuts down", async () => {
  const own = await startServiceProcess("payment", { env: { DATA_DIR: join(scratch, "data-watch") } });
  const health = createClient(Health, createGrpcTransport({ baseUrl: own.grpc! }));
  const seen: Serving[] = [];
  const watching = (async () => {
    try {
      for await (const update of health.watch({ service: "shop.payment.v1.PaymentService" })) {
        seen.push(update.status);
        if (update.status === Serving.NOT_SERVING) return;
      }
    } catch {
      // The stream ends when the server closes; what was seen is what counts.
    }
  })();
  await waitFor(() => seen.length > 0, { what: "the first Watch answer" });
  expect(seen).toEqual([Serving.SERVING]);
  const exit = own.stop("SIGTERM");
  await watching;
  expect(seen).toEqual([Serving.SERVING, Serving.NOT_SERVING]);
  expect(await exit).toBe(0);
});
