import { describe, expect, test } from "bun:test";
import type { ReceivedSpan } from "../../kit/tracing";
import { TraceStore } from "./trace-store";
import { orderTimeline, waterfall } from "./waterfall";

const T1 = "a".repeat(32);
const T2 = "b".repeat(32);

function span(over: Partial<ReceivedSpan> & { spanId: string }): ReceivedSpan {
  return {
    service: "order",
    traceId: T1,
    parentSpanId: "",
    name: "span",
    kind: 1,
    startNs: 1_000_000_000n,
    endNs: 1_010_000_000n,
    attributes: {},
    events: [],
    links: [],
    status: { code: 0, message: "" },
    ...over,
  };
}

describe("TraceStore", () => {
  test("keeps at most maxTraces traces, the oldest dropped first, and maxSpansPerTrace spans of one", () => {
    const store = new TraceStore({ maxTraces: 2, maxSpansPerTrace: 2 });
    store.add([span({ spanId: "1", traceId: T1 }), span({ spanId: "2", traceId: T2 })]);
    store.add([span({ spanId: "3", traceId: "c".repeat(32) })]);
    expect(store.size).toBe(2);
    expect(store.get(T1)).toBeUndefined();
    store.add([2, 3, 4].map((n) => span({ spanId: `x${n}`, traceId: T2 })));
    expect(store.get(T2)!.spans).toHaveLength(2);
    expect(store.droppedSpans).toBe(2);
    store.add([span({ spanId: "bad", traceId: "not-hex" })]);
    expect(store.size).toBe(2);
  });

  test("finds traces by order id, customer id, a trace id's prefix and errors, newest first", () => {
    const store = new TraceStore();
    store.add([
      span({ spanId: "1", traceId: T1, attributes: { "shop.order_id": "o-1", "shop.customer_id": "c-1" } }),
      span({ spanId: "2", traceId: T2, attributes: { "shop.order_id": "o-1" }, status: { code: 2, message: "boom" } }),
    ]);
    expect(store.search({ orderId: "o-1" }).map((t) => t.traceId)).toEqual([T2, T1]);
    expect(store.search({ customerId: "c-1" }).map((t) => t.traceId)).toEqual([T1]);
    expect(store.search({ traceId: "BBBB" }).map((t) => t.traceId)).toEqual([T2]);
    expect(store.search({ errors: true }).map((t) => t.traceId)).toEqual([T2]);
    expect(store.search({ orderId: "o-2" })).toEqual([]);
    expect(store.search({ orderId: "o-1", limit: 1 })).toHaveLength(1);
  });
});

describe("waterfall", () => {
  test("children under their parents by start, offsets from the first start; an unknown parent is a root", () => {
    const w = waterfall(T1, [
      span({ spanId: "c2", parentSpanId: "r", name: "second", startNs: 1_005_000_000n, endNs: 1_006_000_000n }),
      span({ spanId: "r", name: "root", kind: 2 }),
      span({
        spanId: "c1",
        parentSpanId: "r",
        name: "first",
        service: "payment",
        startNs: 1_001_000_000n,
        endNs: 1_002_000_000n,
      }),
      span({ spanId: "g", parentSpanId: "c1", name: "grandchild", startNs: 1_001_500_000n, endNs: 1_001_600_000n }),
      span({ spanId: "o", parentSpanId: "elsewhere", name: "orphan", startNs: 1_003_000_000n }),
    ]);
    expect(w.rows.map((r) => `${r.depth} ${r.name}`)).toEqual([
      "0 root",
      "1 first",
      "2 grandchild",
      "1 second",
      "0 orphan",
    ]);
    expect(w.rows[0]).toMatchObject({ kind: "server", offsetMs: 0, durationMs: 10 });
    expect(w.rows[1]).toMatchObject({ service: "payment", offsetMs: 1, durationMs: 1 });
    expect(w.totalMs).toBe(10);
    expect(w.services).toEqual(["order", "payment"]);
  });

  test("an order's timeline: saga steps, calls, events published and consumed, in time order", () => {
    const steps = orderTimeline([
      {
        traceId: T1,
        spans: [
          span({ spanId: "1", name: "record order confirmed", startNs: 3_000_000n }),
          span({
            spanId: "2",
            name: "shop.payment.v1.PaymentService/ProcessPayment",
            attributes: { "rpc.system": "connect_rpc" },
            startNs: 2_000_000n,
          }),
          span({
            spanId: "3",
            name: "attempt",
            kind: 3,
            attributes: { "rpc.system": "connect_rpc", "shop.attempt": 1 },
          }),
          span({
            spanId: "4",
            name: "send orders.confirmed",
            kind: 4,
            attributes: { "messaging.operation.type": "send" },
            startNs: 4_000_000n,
          }),
          span({ spanId: "5", service: "marketing", name: "process orders.confirmed", kind: 5, startNs: 5_000_000n }),
          span({ spanId: "6", name: "something internal" }),
        ],
      },
    ]);
    expect(steps.map((s) => `${s.what}: ${s.name}`)).toEqual([
      "call: shop.payment.v1.PaymentService/ProcessPayment",
      "saga: record order confirmed",
      "event published: send orders.confirmed",
      "event consumed: process orders.confirmed",
    ]);
  });
});
