import { expect, test } from "bun:test";
import { bucketsOf, histogramQuantile, parseMetrics, sum } from "./metrics-text";

const TEXT = `# HELP rpc_client_breaker_state Circuit breaker
# TYPE rpc_client_breaker_state gauge
rpc_client_breaker_state{target="payment",service="order"} 1
rpc_client_attempts_total{target="payment",instance="a",outcome="ok",service="order"} 7
rpc_client_attempts_total{target="payment",instance="a",outcome="Unavailable",service="order"} 3
rpc_server_duration_seconds_bucket{le="0.01",method="M",code="ok"} 90 # {trace_id="abc"} 0.004 1700000000
rpc_server_duration_seconds_bucket{le="0.1",method="M",code="ok"} 99
rpc_server_duration_seconds_bucket{le="+Inf",method="M",code="ok"} 100
odd{label="with \\"quotes\\""} 2
`;

test("samples with their labels; comments, exemplars and timestamps left out", () => {
  const samples = parseMetrics(TEXT);
  expect(samples[0]).toEqual({
    name: "rpc_client_breaker_state",
    labels: { target: "payment", service: "order" },
    value: 1,
  });
  expect(sum(samples, "rpc_client_attempts_total", { target: "payment" })).toBe(10);
  expect(sum(samples, "rpc_client_attempts_total", { outcome: "ok" })).toBe(7);
  expect(samples.at(-1)).toEqual({ name: "odd", labels: { label: 'with "quotes"' }, value: 2 });
});

test("a quantile from cumulative buckets, linear within its bucket; none without observations", () => {
  const buckets = bucketsOf(parseMetrics(TEXT), "rpc_server_duration_seconds");
  expect(buckets.get(Infinity)).toBe(100);
  expect(histogramQuantile(0.5, buckets)).toBeCloseTo(0.01 * (50 / 90));
  expect(histogramQuantile(0.99, buckets)).toBeCloseTo(0.1);
  expect(histogramQuantile(1, buckets)).toBeCloseTo(0.1);
  expect(histogramQuantile(0.99, new Map())).toBeUndefined();
});
