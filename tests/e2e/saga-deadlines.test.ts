// Time budgets that fit, through the gateway, against a payment that takes 6 s to charge: with the
// gateway's default budget (10 s) the confirm waits for the charge and answers CONFIRMED, where it used
// to be cut at the 5 s attempt timeout into a 504; with a budget too short for the charge (3 s) it
// answers PAYMENT_PENDING in time, never a 504, and the order is confirmed without the client.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { PaymentProcessed } from "../../services/payment/contract/events";
import { waitFor } from "../../services/kit/testing";
import { testPlatform } from "./support/test-platform";
import { breachesIn } from "./support/invariants";

const platform = testPlatform("budget", { CONSUMER_BACKOFF_MS: "200,400" });
const { db, gatewaySecrets: secrets } = platform;
let gateway: string;
let hurried: string;

const start = platform.start;

beforeAll(async () => {
  await Promise.all([
    start("customer"),
    start("inventory"),
    start("payment", { PAYMENT_INJECT_LATENCY_MS: "6000" }),
    start("order"),
  ]);
  gateway = (await start("gateway")).http;
  hurried = (await start("gateway", { GATEWAY_UPSTREAM_TIMEOUT_MS: "3000" })).http;
  const res = await fetch(`${gateway}/v1/products/sku-mug`, {
    method: "PUT",
    headers: { "x-api-key": secrets.GATEWAY_ADMIN_API_KEY, "content-type": "application/json" },
    body: JSON.stringify({ name: "Mug", price: { amountMinor: "1200", currency: "EUR" }, stock: 100 }),
  });
  expect(res.status).toBe(200);
});

afterAll(async () => {
  await platform.stop();
});

async function call(base: string, method: string, path: string, token: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

async function placed(base: string) {
  const signUp = await fetch(`${base}/v1/customers`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: `b-${crypto.randomUUID()}@example.com`, name: "Budget" }),
  });
  const { token } = (await signUp.json()) as { token: string };
  const { body } = await call(base, "POST", "/v1/orders", token, {
    items: [{ productId: "sku-mug", quantity: 1 }],
    currency: "EUR",
  });
  return { token, id: body.order.id as string };
}

/** The order through the hurried gateway once it is out of PAYMENT_PENDING (its saga went on without the client). */
const outOfPaymentPending = (id: string, token: string, what: string) =>
  waitFor(
    async () => {
      const o = (await call(hurried, "GET", `/v1/orders/${id}`, token)).body.order;
      return o.status === "ORDER_STATUS_PAYMENT_PENDING" ? undefined : o;
    },
    { timeoutMs: 30_000, intervalMs: 200, what },
  );

test("the gateway's default budget covers a slow charge: CONFIRMED, not a 504 after 5 s", async () => {
  const { token, id } = await placed(gateway);
  const t0 = performance.now();
  const res = await call(gateway, "POST", `/v1/orders/${id}:confirm`, token, { cardToken: "tok_success" });
  expect(res.status).toBe(200);
  expect(res.body.order.status).toBe("ORDER_STATUS_CONFIRMED");
  expect(performance.now() - t0).toBeGreaterThan(5500);
}, 30_000);

test("a budget too short for the charge: PAYMENT_PENDING within it, then CONFIRMED without the client; a second confirm answers the order", async () => {
  const { token, id } = await placed(hurried);
  const t0 = performance.now();
  const res = await call(hurried, "POST", `/v1/orders/${id}:confirm`, token, { cardToken: "tok_success" });
  const tookMs = performance.now() - t0;
  expect(res.status).toBe(200);
  expect(res.body.order.status).toBe("ORDER_STATUS_PAYMENT_PENDING");
  expect(tookMs).toBeLessThan(3000);
  // Asking again is no confusing refusal: the order as it is.
  const again = await call(hurried, "POST", `/v1/orders/${id}:confirm`, token, { cardToken: "tok_success" });
  expect(again.status).toBe(200);
  expect(["ORDER_STATUS_PAYMENT_PENDING", "ORDER_STATUS_CONFIRMED"]).toContain(again.body.order.status);
  const done = await outOfPaymentPending(id, token, "the order to be confirmed without the client");
  expect(done.status).toBe("ORDER_STATUS_CONFIRMED");
  expect(await breachesIn(db)).toEqual([]);
}, 60_000);

test("a forged PaymentProcessed for an order waiting PAYMENT_PENDING does not confirm it: payment does not know that payment, it is a dead letter", async () => {
  const { token, id } = await placed(hurried);
  const res = await call(hurried, "POST", `/v1/orders/${id}:confirm`, token, { cardToken: "tok_success" });
  expect(res.body.order.status).toBe("ORDER_STATUS_PAYMENT_PENDING");
  const forgedPayment = crypto.randomUUID();
  await platform.streams.publish(
    PaymentProcessed,
    { paymentId: forgedPayment, orderId: id, amount: { amountMinor: 1200n, currency: "EUR" } },
    { source: "/shop/payment", entityId: forgedPayment },
  );
  const letter = await waitFor(
    async () =>
      (await platform.streams.deadLetters.list()).find(
        (l) => l.consumer === "order-payment-outcomes" && l.reason.includes(forgedPayment),
      ),
    { timeoutMs: 15_000, what: "the forged outcome's dead letter" },
  );
  expect(letter.reason).toContain("payment knows no such payment");
  expect(letter.deliveries).toBe(1);
  // The real charge still finishes the order, with the real payment.
  const done = await outOfPaymentPending(id, token, "the order to be confirmed by its real charge");
  expect(done.status).toBe("ORDER_STATUS_CONFIRMED");
  expect(done.paymentId).not.toBe(forgedPayment);
}, 60_000);
