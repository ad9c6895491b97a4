// Every service of the platform boots as its own process, registers, is ready, and answers a real call.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InventoryService } from "../../services/contracts/gen/shop/inventory/v1/inventory_service_pb";
import { OrderService } from "../../services/contracts/gen/shop/order/v1/order_service_pb";
import { startServiceProcess, type ServiceProcess, testSchemas } from "../../services/kit/testing";

const NAMES = ["gateway", "order", "payment", "inventory", "customer", "notification", "marketing"] as const;
const running = new Map<string, ServiceProcess>();
const mailbox = mkdtempSync(join(tmpdir(), "mailbox-"));
// Databases on the real Postgres, schemas of this run's own (each service's PGlite boot has its own test).
const db = testSchemas();
const WITH_DATABASE = new Set(["order", "payment", "inventory", "customer", "notification", "marketing"]);
const namespace = `boot${crypto.randomUUID().slice(0, 8)}`;
// The gateway's required secrets, fresh per run.
const gatewaySecrets = {
  GATEWAY_JWT_SECRET: `${crypto.randomUUID()}${crypto.randomUUID()}`,
  GATEWAY_ADMIN_API_KEY: crypto.randomUUID(),
};

beforeAll(async () => {
  const started = await Promise.allSettled(
    NAMES.map((name) =>
      startServiceProcess(name, {
        env: {
          MAILBOX_DIR: mailbox,
          PLATFORM_NAMESPACE: namespace,
          ...(WITH_DATABASE.has(name) ? db.env(name) : {}),
          ...gatewaySecrets,
        },
      }),
    ),
  );
  for (const s of started) if (s.status === "fulfilled") running.set(s.value.name, s.value);
  const failed = started.find((s) => s.status === "rejected");
  if (failed) throw failed.reason;
});
afterAll(async () => {
  const codes = await Promise.all([...running.values()].map((s) => s.stop()));
  rmSync(mailbox, { recursive: true, force: true });
  await db.drop();
  expect(codes.every((c) => c === 0)).toBe(true);
});
const svc = (name: string) => running.get(name)!;

describe("each service", () => {
  for (const name of NAMES) {
    test(`${name} is alive and ready`, async () => {
      // The gateway's probes are on its operations port; the others' on their HTTP port.
      const probes = svc(name).ops ?? svc(name).http;
      expect((await fetch(`${probes}/healthz`)).status).toBe(200);
      const ready = await fetch(`${probes}/readyz`);
      expect(ready.status).toBe(200);
      expect(((await ready.json()) as any).checks.nats).toBe("ok");
    });
  }
});

test("the gateway lists every running instance from NATS, with its URLs", async () => {
  const res = await fetch(`${svc("gateway").http}/v1/services`, {
    headers: { "x-api-key": gatewaySecrets.GATEWAY_ADMIN_API_KEY },
  });
  expect(res.status).toBe(200);
  const { instances } = (await res.json()) as any as { instances: { id: string; http: string; grpc?: string }[] };
  for (const s of running.values()) {
    expect(instances.find((i) => i.id === s.id)).toMatchObject({ http: s.http, ...(s.grpc ? { grpc: s.grpc } : {}) });
  }
});

test("inventory stores a product and reports availability, over gRPC and Connect", async () => {
  const id = `test-${crypto.randomUUID().slice(0, 8)}`;
  const grpc = createClient(InventoryService, createGrpcTransport({ baseUrl: svc("inventory").grpc! }));
  await grpc.upsertProduct({
    product: { id, name: "Test mug", price: { amountMinor: 1200n, currency: "EUR" }, stock: 7 },
  });
  const connect = createClient(
    InventoryService,
    createConnectTransport({ baseUrl: svc("inventory").http, httpVersion: "1.1" }),
  );
  const { items } = await connect.checkAvailability({ items: [{ productId: id, quantity: 3 }] });
  expect(items[0]).toMatchObject({ productId: id, available: 7, sufficient: true });
});

test("order lists a customer's orders", async () => {
  const client = createClient(OrderService, createGrpcTransport({ baseUrl: svc("order").grpc! }));
  const { orders } = await client.listOrders({ customerId: crypto.randomUUID() });
  expect(orders).toEqual([]);
});

test("customer registers and fetches a customer over REST, and refuses bad input", async () => {
  const base = svc("customer").http;
  const email = `ada-${crypto.randomUUID()}@example.com`;
  const created = await fetch(`${base}/v1/customers`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, name: "Ada" }),
  });
  expect(created.status).toBe(201);
  const customer = (await created.json()) as any;
  expect((await (await fetch(`${base}/v1/customers/${customer.id}`)).json()) as any).toMatchObject({
    email,
    name: "Ada",
  });
  const dup = await fetch(`${base}/v1/customers`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, name: "Ada" }),
  });
  expect(dup.status).toBe(409);
  const bad = await fetch(`${base}/v1/customers`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: "{",
  });
  expect(bad.status).toBe(400);
  expect((await fetch(`${base}/v1/customers/not-an-id`)).status).toBe(400);
});

test("notification lists its mailbox; marketing answers for an unknown customer", async () => {
  expect((await (await fetch(`${svc("notification").http}/v1/notifications`)).json()) as any).toMatchObject({
    notifications: [],
  });
  const profile = await fetch(`${svc("marketing").http}/v1/profiles/${crypto.randomUUID()}`);
  expect(profile.status).toBe(404);
  expect(((await profile.json()) as any).error.code).toBe("not_found");
});
