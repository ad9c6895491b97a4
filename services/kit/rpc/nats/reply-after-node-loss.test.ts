// A reply written to a cluster node that dies before passing it on: the serving instance sends it
// again once it reconnected to another node, so its caller gets its answer instead of its timeout.
// Made exact with SIGSTOP: the node takes the reply into its socket without reading it, then kill -9.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { fromBinary, toBinary, create } from "@bufbuild/protobuf";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import {
  GetPaymentStatusRequestSchema,
  GetPaymentStatusResponseSchema,
  PaymentService,
} from "../../../contracts/gen/shop/payment/v1/payment_service_pb";
import { startService, type RunningService } from "../../service";
import { startTestNatsCluster, type TestNatsCluster } from "../../testing/test-nats-cluster";
import { waitFor } from "../../testing/service-process";
import { rpcSubject } from "./subjects";

const namespace = `lost${crypto.randomUUID().slice(0, 8)}`;
const GET = "/shop.payment.v1.PaymentService/GetPaymentStatus";
let cluster: TestNatsCluster;
let service: RunningService;
let caller: NatsConnection;
let entered = false;
let release: () => void = () => {};

beforeAll(async () => {
  cluster = await startTestNatsCluster();
  // The service knows one node; the cluster tells its client the others, where it reconnects.
  service = await startService(
    {
      name: "payment",
      version: "1.0.0",
      description: "holds a call until the test lets it answer",
      ports: { http: 0 },
      build: () => ({
        rpc: (router) =>
          router.service(PaymentService, {
            async processPayment() {
              return {};
            },
            async getPaymentStatus(req) {
              entered = true;
              await new Promise<void>((r) => (release = r));
              return { payment: { id: req.paymentId } };
            },
          }),
      }),
    },
    {
      NATS_URL: cluster.node("nats-1").url,
      PLATFORM_NAMESPACE: namespace,
      LOG_LEVEL: "silent",
      RESILIENCE_POLICY_BUCKET: `${namespace}_none`,
    },
  );
  caller = await connect({ servers: cluster.node("nats-2").url });
}, 60_000);

afterAll(async () => {
  await caller?.close();
  await service?.stop();
  await cluster?.destroy();
});

test("the serving node dies with the reply in its socket: the reply comes anyway, from another node", async () => {
  const request = toBinary(GetPaymentStatusRequestSchema, create(GetPaymentStatusRequestSchema, { paymentId: "p-1" }));
  const answer = caller.request(rpcSubject(namespace, "payment", GET), request, { timeout: 12_000 });
  await waitFor(() => entered, { what: "the call to be taken" });

  const node = cluster.node("nats-1");
  node.freeze();
  release();
  // The reply goes out into the frozen node's socket; then the node dies without passing it on.
  await Bun.sleep(300);
  await node.kill();
  const startedWaiting = Date.now();

  const reply = await answer;
  expect(reply.headers?.get("Status") ?? "").toBe("");
  expect(fromBinary(GetPaymentStatusResponseSchema, reply.data).payment?.id).toBe("p-1");
  // Within a reconnect, not the caller's whole timeout.
  expect(Date.now() - startedWaiting).toBeLessThan(5000);
}, 60_000);
