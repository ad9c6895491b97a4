// A logged-in operator of the console, for tests; and an order placed through the gateway.
import { expect } from "bun:test";

/** Logs in with the admin key; `fetch` then carries the session cookie. */
export async function consoleSession(consoleUrl: string, adminKey: string) {
  const res = await fetch(`${consoleUrl}/login`, {
    method: "POST",
    body: new URLSearchParams({ key: adminKey, next: "/" }),
    redirect: "manual",
  });
  expect(res.status).toBe(303);
  const cookie = res.headers.get("set-cookie")!.split(";")[0]!;
  return {
    cookie,
    fetch: (path: string, init: RequestInit = {}) =>
      fetch(`${consoleUrl}${path}`, { ...init, headers: { ...(init.headers as object), cookie } }),
  };
}

/** A product, a customer and one order of it, placed and confirmed with `cardToken` through the gateway. */
export async function placeOrder(gateway: string, adminKey: string, cardToken = "tok_success") {
  const sku = `sku-${crypto.randomUUID().slice(0, 8)}`;
  const product = await fetch(`${gateway}/v1/products/${sku}`, {
    method: "PUT",
    headers: { "x-api-key": adminKey, "content-type": "application/json" },
    body: JSON.stringify({ name: "Lamp", price: { amountMinor: "2500", currency: "EUR" }, stock: 100 }),
  });
  expect(product.status).toBe(200);
  const signUp = await fetch(`${gateway}/v1/customers`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: `ada-${crypto.randomUUID()}@example.com`, name: "Ada" }),
  });
  expect(signUp.status).toBe(201);
  const { customer, token } = (await signUp.json()) as { customer: { id: string }; token: string };
  const auth = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  const placed = await fetch(`${gateway}/v1/orders`, {
    method: "POST",
    headers: auth,
    body: JSON.stringify({ items: [{ productId: sku, quantity: 1 }], currency: "EUR" }),
  });
  expect(placed.status).toBe(200);
  const orderId = ((await placed.json()) as { order: { id: string } }).order.id;
  const confirmed = await fetch(`${gateway}/v1/orders/${orderId}:confirm`, {
    method: "POST",
    headers: auth,
    body: JSON.stringify({ cardToken }),
  });
  const status = ((await confirmed.json()) as { order?: { status: string } }).order?.status;
  return { orderId, customerId: customer.id, token, status };
}
