import { expect, test } from "bun:test";
import type { ReceivedSpan } from "../../kit/tracing";
import { callMatrix } from "./call-matrix";
import { parseMetrics } from "./metrics-text";
import type { InstanceSnapshot, PlatformSnapshot } from "./platform-snapshot";
import { servicesView } from "./services-view";

const instance = (name: string, id: string, requests: number, metrics: string): InstanceSnapshot => ({
  name,
  registeredAs: `shop-${name}`,
  namespace: "shop",
  id,
  version: "1.0.0",
  description: "",
  http: `http://127.0.0.1/${id}`,
  metadata: {},
  started: new Date(0).toISOString(),
  requests,
  errors: 0,
  rpcEndpoints: [],
  samples: parseMetrics(metrics),
});

const attempts = (
  ok: number,
  failed: number,
) => `rpc_client_attempts_total{target="payment",instance="p1",outcome="ok"} ${ok}
rpc_client_attempts_total{target="payment",instance="p1",outcome="Unavailable"} ${failed}
rpc_client_breaker_state{target="payment"} ${failed > 3 ? 1 : 0}`;

const history: PlatformSnapshot[] = [
  { at: 1000, instances: [instance("order", "o1", 0, attempts(10, 0)), instance("payment", "p1", 10, "")] },
  { at: 3000, instances: [instance("order", "o1", 0, attempts(30, 4)), instance("payment", "p1", 30, "")] },
];

test("services: figures per instance, breakers from the callers' metrics, requests per second per service", () => {
  const view = servicesView(history);
  expect(view.instances.find((i) => i.id === "o1")!.breakers).toEqual([
    { caller: "order", instance: "o1", target: "payment", state: "open" },
  ]);
  expect(view.rates.payment).toEqual([10]);
  expect(view.instances.find((i) => i.id === "p1")!.uptimeMs).toBe(3000);
});

test("calls: attempts and rates from the callers' metrics, events and p99 from the traces", () => {
  const span = (s: Partial<ReceivedSpan> & { spanId: string; service: string }): ReceivedSpan => ({
    traceId: "t",
    parentSpanId: "",
    name: "",
    kind: 1,
    startNs: 0n,
    endNs: 4_000_000n,
    attributes: {},
    events: [],
    links: [],
    status: { code: 0, message: "" },
    ...s,
  });
  const edges = callMatrix(history, [
    span({ spanId: "a", service: "order", kind: 3 }),
    span({ spanId: "b", service: "payment", kind: 2, parentSpanId: "a" }),
    span({ spanId: "c", service: "order", kind: 4 }),
    span({ spanId: "d", service: "marketing", kind: 5, parentSpanId: "c", status: { code: 2, message: "no" } }),
    span({ spanId: "e", service: "order", kind: 2, parentSpanId: "a" }), // within one service: no edge
  ]);
  expect(edges).toEqual([
    {
      from: "order",
      to: "marketing",
      kind: "event",
      traced: { count: 1, errors: 1, p99Ms: 4 },
    },
    {
      from: "order",
      to: "payment",
      kind: "rpc",
      attempts: 34,
      failedAttempts: 4,
      rate: 12,
      errorRate: 2,
      rates: [12],
      traced: { count: 1, errors: 0, p99Ms: 4 },
    },
  ]);
});
