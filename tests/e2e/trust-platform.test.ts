// The whole platform with identities on: a nats-server of the test's own running the generated
// authorization, every service connecting with its own nkey and checking the tokens of its callers.
// The order flow, its events, e-mails and profiles, the CLI's operator commands all work; calls without
// a token, or from an identity the communication table does not let call, are refused.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { fromSeed } from "@nats-io/nkeys";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Health, HealthCheckResponse_ServingStatus } from "../../services/contracts/gen/health/v1/health_pb";
import { PaymentService } from "../../services/contracts/gen/shop/payment/v1/payment_service_pb";
import { CustomerRegisteredSchema } from "../../services/contracts/gen/shop/customer/v1/customer_pb";
import { create, toBinary } from "@bufbuild/protobuf";
import {
  startTestNatsServer,
  type TestNatsServer,
  startServiceProcess,
  waitFor,
  type ServiceProcess,
  testSchemas,
  runToExit,
} from "../../services/kit/testing";
import { signToken } from "../../services/kit/trust";
import { writeIdentities } from "../../cli/identities";

const ROOT = join(import.meta.dir, "../..");
const namespace = `idp${crypto.randomUUID().slice(0, 6)}`;
const eventsPrefix = `ip${crypto.randomUUID().replaceAll("-", "").slice(0, 8)}`;
const policyBucket = `${namespace}_policies`;
const db = testSchemas();
const secrets = {
  GATEWAY_JWT_SECRET: `${crypto.randomUUID()}${crypto.randomUUID()}`,
  GATEWAY_ADMIN_API_KEY: crypto.randomUUID(),
};
const dir = mkdtempSync(join(tmpdir(), "identities-"));
const mailbox = mkdtempSync(join(tmpdir(), "mailbox-"));
const procs = new Map<string, ServiceProcess>();
let nats: TestNatsServer;
let publicKeys: string;

const tokenOf = (name: string, audience: string) => {
  const seed = new TextEncoder().encode(readFileSync(join(dir, `${name}.seed`), "utf8").trim());
  const keyPair = fromSeed(seed);
  return signToken({ name, keyPair, seed, publicKey: keyPair.getPublicKey() }, audience);
};
const common = () => ({
  NATS_URL: nats.url,
  PLATFORM_NAMESPACE: namespace,
  EVENTS_PREFIX: eventsPrefix,
  RESILIENCE_POLICY_BUCKET: policyBucket,
  PLATFORM_PUBLIC_KEYS: publicKeys,
  CONSUMER_BACKOFF_MS: "200,400",
});
const cli = (args: string[], seed = "operator") =>
  runToExit(["bun", join(ROOT, "cli/cli.ts"), ...args], {
    env: { ...common(), NATS_NKEY_SEED_FILE: join(dir, `${seed}.seed`) },
  });

beforeAll(async () => {
  ({ publicKeys } = writeIdentities({ dir, namespace, eventsPrefix, policyBucket }));
  nats = await startTestNatsServer({ config: readFileSync(join(dir, "auth.conf"), "utf8") });
  // The operator makes the streams first: services may only read them.
  const made = await cli(["streams"]);
  expect(`${made.code} ${made.stderr}`).toBe("0 ");
  expect(made.stdout).toContain(`created   ${eventsPrefix}_ORDERS`);
  const start = async (name: string) => {
    const own =
      name === "gateway" ? secrets : name === "notification" ? { ...db.env(name), MAILBOX_DIR: mailbox } : db.env(name);
    const p = await startServiceProcess(name, {
      env: { ...common(), ...own, NATS_NKEY_SEED_FILE: join(dir, `${name}.seed`) },
      timeoutMs: 30_000,
    });
    procs.set(name, p);
  };
  await start("payment");
  await Promise.all(["customer", "inventory", "order", "notification", "marketing", "gateway"].map(start));
}, 90_000);

afterAll(async () => {
  await Promise.all([...procs.values()].map((p) => p.stop()));
  await nats?.destroy();
  await db.drop();
  rmSync(dir, { recursive: true, force: true });
  rmSync(mailbox, { recursive: true, force: true });
});

test("the order flow, its e-mail and its profile, with every service on its own identity", async () => {
  const gw = procs.get("gateway")!.http;
  const json = async (res: Response) => ({ status: res.status, body: (await res.json()) as any });
  const put = await json(
    await fetch(`${gw}/v1/products/sku-mug`, {
      method: "PUT",
      headers: { "x-api-key": secrets.GATEWAY_ADMIN_API_KEY },
      body: JSON.stringify({ name: "Mug", price: { amountMinor: "1200", currency: "EUR" }, stock: 10 }),
    }),
  );
  expect(put.status).toBe(200);
  const signUp = await json(
    await fetch(`${gw}/v1/customers`, {
      method: "POST",
      body: JSON.stringify({ email: `id-${crypto.randomUUID()}@example.com`, name: "Ida" }),
    }),
  );
  expect(signUp.status).toBe(201);
  const auth = { authorization: `Bearer ${signUp.body.token}` };
  const placed = await json(
    await fetch(`${gw}/v1/orders`, {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ items: [{ productId: "sku-mug", quantity: 2 }], currency: "EUR" }),
    }),
  );
  expect(placed.status).toBe(200);
  const confirmed = await json(
    await fetch(`${gw}/v1/orders/${placed.body.order.id}:confirm`, {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ cardToken: "tok_success" }),
    }),
  );
  expect(confirmed.body.order.status).toBe("ORDER_STATUS_CONFIRMED");
  // Events went over the bus: the e-mail is written, the profile counts the order.
  await waitFor(() => readdirSync(mailbox).length === 1, { timeoutMs: 15_000, what: "the confirmation e-mail" });
  const profile = await waitFor(
    async () => {
      const res = await fetch(`${procs.get("marketing")!.http}/v1/profiles/${signUp.body.customer.id}`, {
        headers: { authorization: `Bearer ${tokenOf("operator", "marketing")}` },
      });
      const p = res.status === 200 ? ((await res.json()) as { orders: { confirmed: number } }) : undefined;
      return p?.orders.confirmed === 1 ? p : undefined;
    },
    { timeoutMs: 15_000, what: "the marketing profile" },
  );
  expect(profile.orders.confirmed).toBe(1);
});

test("calls on a service's ports: none without a token, none from an identity the table does not let call, the operator's always; health without", async () => {
  const payment = procs.get("payment")!;
  const client = (headers: Record<string, string> = {}) =>
    createClient(
      PaymentService,
      createConnectTransport({
        baseUrl: payment.http,
        httpVersion: "1.1",
        interceptors: [
          (next) => async (req) => (Object.entries(headers).forEach(([k, v]) => req.header.set(k, v)), next(req)),
        ],
      }),
    );
  const refusal = async (p: Promise<unknown>) =>
    ConnectError.from(
      await p.then(
        () => new Error("expected a refusal"),
        (e) => e,
      ),
    );
  const charge = {
    orderId: crypto.randomUUID(),
    amount: { amountMinor: 100n, currency: "EUR" },
    cardToken: "tok_success",
    idempotencyKey: crypto.randomUUID(),
  };
  expect((await refusal(client().processPayment(charge))).code).toBe(Code.Unauthenticated);
  expect((await refusal(client({ authorization: "Bearer forged.token" }).processPayment(charge))).code).toBe(
    Code.Unauthenticated,
  );
  const gatewayToPayment = await refusal(
    client({ authorization: `Bearer ${tokenOf("gateway", "payment")}` }).processPayment(charge),
  );
  expect(gatewayToPayment.code).toBe(Code.PermissionDenied);
  expect(gatewayToPayment.rawMessage).toBe("gateway may not call payment");
  expect(
    (await refusal(client({ authorization: `Bearer ${tokenOf("order", "inventory")}` }).processPayment(charge))).code,
  ).toBe(Code.PermissionDenied);
  expect(
    (await client({ authorization: `Bearer ${tokenOf("order", "payment")}` }).processPayment(charge)).payment?.orderId,
  ).toBe(charge.orderId);
  expect(
    (await client({ authorization: `Bearer ${tokenOf("operator", "*")}` })
      .getPaymentStatus({ paymentId: crypto.randomUUID() })
      .catch((e) => ConnectError.from(e))) instanceof ConnectError,
  ).toBe(true);
  // The gRPC port checks the same; health answers without a token.
  const grpc = createClient(PaymentService, createGrpcTransport({ baseUrl: payment.grpc! }));
  expect((await refusal(grpc.processPayment(charge))).code).toBe(Code.Unauthenticated);
  expect(
    (await createClient(Health, createGrpcTransport({ baseUrl: payment.grpc! })).check({ service: "" })).status,
  ).toBe(HealthCheckResponse_ServingStatus.SERVING);
  // REST routes too (customer's), probes stay open.
  const customer = procs.get("customer")!.http;
  expect((await fetch(`${customer}/v1/customers/${crypto.randomUUID()}`)).status).toBe(401);
  expect(
    (
      await fetch(`${customer}/v1/customers/${crypto.randomUUID()}`, {
        headers: { authorization: `Bearer ${tokenOf("notification", "customer")}` },
      })
    ).status,
  ).toBe(404);
  expect((await fetch(`${customer}/readyz`)).status).toBe(200);
});

test("the gateway's admin listing and the CLI show every service, each registration signed by its own key", async () => {
  const res = await fetch(`${procs.get("gateway")!.http}/v1/services`, {
    headers: { "x-api-key": secrets.GATEWAY_ADMIN_API_KEY },
  });
  expect(res.status).toBe(200);
  const { instances } = (await res.json()) as { instances: { name: string; metadata: Record<string, string> }[] };
  expect([...new Set(instances.map((i) => i.name))].sort()).toEqual([
    "customer",
    "gateway",
    "inventory",
    "marketing",
    "notification",
    "order",
    "payment",
  ]);
  expect(instances.every((i) => i.metadata.proof)).toBe(true);
  const listed = await cli(["services"]);
  expect(`${listed.code} ${listed.stderr}`).toBe("0 ");
  expect(listed.stdout).toContain("7 services");
});

test("the CLI as the operator: policies, services, seed, a token; as a service's identity the policy bucket is out of reach", async () => {
  const set = await cli(["policies", "set", "payment", '{"retry":{"maxRetries":1}}']);
  expect(`${set.code} ${set.stderr}`).toBe("0 ");
  const listed = await cli(["services"]);
  expect(listed.code).toBe(0);
  expect(listed.stdout).toContain("payment");
  const asOrder = await cli(["policies", "set", "payment", '{"retry":{"maxRetries":0}}'], "order");
  expect(asOrder.code).not.toBe(0);
  // The seed calls customer and inventory on their own ports, with the operator's token.
  const seeded = await cli(["seed"]);
  expect(`${seeded.code} ${seeded.stderr}`).toBe("0 ");
  expect(seeded.stdout).toContain("ada@example.com");
  const token = await cli(["token", "--for", "payment"]);
  expect(token.code).toBe(0);
  const status = (authorization: string) =>
    fetch(`${procs.get("payment")!.http}/shop.payment.v1.PaymentService/GetPaymentStatus`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization },
      body: JSON.stringify({ paymentId: crypto.randomUUID() }),
    }).then((r) => r.json() as Promise<{ code: string }>);
  expect((await status(`Bearer ${token.stdout.trim()}`)).code).toBe("not_found");
  // A token for payment is no good at inventory.
  const atInventory = await fetch(`${procs.get("inventory")!.http}/shop.inventory.v1.InventoryService/GetProduct`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token.stdout.trim()}` },
    body: JSON.stringify({ productId: "sku-mug" }),
  });
  expect(atInventory.status).toBe(403);
});

test("a poison event dies into the DLQ, which the operator lists and replays; no service ever lacked a permission it needs", async () => {
  const { connect, nkeyAuthenticator, headers } = await import("@nats-io/transport-node");
  const { jetstream } = await import("@nats-io/jetstream");
  const op = await connect({
    servers: nats.url,
    authenticator: nkeyAuthenticator(new TextEncoder().encode(readFileSync(join(dir, "operator.seed"), "utf8").trim())),
  });
  try {
    const h = headers();
    const id = crypto.randomUUID();
    for (const [k, v] of Object.entries({
      "ce-id": id,
      "ce-type": "shop.order.v1.OrderConfirmed",
      "ce-source": "/shop/order",
      "ce-time": new Date().toISOString(),
      "ce-specversion": "1.0",
    }))
      h.set(k, v);
    await jetstream(op).publish(`${eventsPrefix}.orders.confirmed`, new Uint8Array([0xff, 0xff, 0x01]), { headers: h });
    const listed = await waitFor(
      async () => {
        const r = await cli(["dlq", "list"]);
        return r.stdout.includes(id) ? r : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 500, what: "the dead letter, listed by the operator" },
    );
    const letterId = listed.stdout
      .split("\n")
      .find((l) => l.includes(id) && l.includes("notification"))!
      .trim()
      .split(/\s+/)[0]!;
    const replay = await cli(["dlq", "replay", letterId]);
    expect(replay.stdout).toContain("failed again");

    // Customer's identity may publish its own events, and sets dlq-replay-of on a good one naming a
    // dead letter of another consumer and event: the event is handled, the dead letter stays.
    const letters = (await cli(["dlq", "list"])).stdout
      .split("\n")
      .filter((l) => l.includes(id))
      .map((l) => l.trim().split(/\s+/)[0]!);
    expect(letters.length).toBeGreaterThan(0);
    const customer = await connect({
      servers: nats.url,
      inboxPrefix: "_INBOX_customer",
      authenticator: nkeyAuthenticator(
        new TextEncoder().encode(readFileSync(join(dir, "customer.seed"), "utf8").trim()),
      ),
    });
    try {
      for (const letter of letters) {
        const forged = headers();
        const customerId = crypto.randomUUID();
        for (const [k, v] of Object.entries({
          "ce-id": crypto.randomUUID(),
          "ce-type": "shop.customer.v1.CustomerRegistered",
          "ce-source": "/shop/customer",
          "ce-time": new Date().toISOString(),
          "ce-specversion": "1.0",
          "ce-subject": customerId,
          "dlq-replay-of": letter,
        }))
          forged.set(k, v);
        const body = toBinary(
          CustomerRegisteredSchema,
          create(CustomerRegisteredSchema, {
            customer: { id: customerId, email: `${customerId}@example.com`, name: "Mallory" },
          }),
        );
        await jetstream(customer).publish(`${eventsPrefix}.customers.registered`, body, { headers: forged });
      }
      await waitFor(
        () =>
          procs
            .get("marketing")!
            .logs.filter((l) => JSON.stringify(l).includes("replay of that dead letter is not the operator")).length >=
            letters.length || undefined,
        {
          timeoutMs: 20_000,
          what: "marketing handling the forged copies",
        },
      );
    } finally {
      await customer.close();
    }
    const after = (await cli(["dlq", "list"])).stdout;
    for (const letter of letters) expect(after).toMatch(new RegExp(`^\\s*${letter}\\s`, "m"));
  } finally {
    await op.close();
  }
  for (const p of procs.values()) {
    const violations = p.logs.filter((l) => /permission/i.test(JSON.stringify(l)));
    expect(`${p.name}: ${JSON.stringify(violations.slice(0, 3))}`).toBe(`${p.name}: []`);
  }
}, 60_000);

test("the console on its own identity reads every page's data; its policy edit and replay go as the operator", async () => {
  const console = await startServiceProcess("console", {
    env: {
      ...common(),
      GATEWAY_ADMIN_API_KEY: secrets.GATEWAY_ADMIN_API_KEY,
      NATS_NKEY_SEED_FILE: join(dir, "console.seed"),
      CONSOLE_OPERATOR_SEED_FILE: join(dir, "operator.seed"),
    },
    timeoutMs: 30_000,
  });
  try {
    const login = await fetch(`${console.http}/login`, {
      method: "POST",
      body: new URLSearchParams({ key: secrets.GATEWAY_ADMIN_API_KEY }),
      redirect: "manual",
    });
    const cookie = login.headers.get("set-cookie")!.split(";")[0]!;
    const api = async (path: string, init: RequestInit = {}) => {
      const res = await fetch(`${console.http}${path}`, {
        ...init,
        headers: { cookie, "content-type": "application/json", ...(init.headers as object) },
      });
      return { status: res.status, body: (await res.json()) as any };
    };
    // Every registration it believes is signed by the service it names (its own is too).
    const services = await waitFor(
      async () => {
        const { body } = await api("/api/services");
        return [...procs.keys(), "console"].every((s) => body.instances.some((i: any) => i.service === s)) && body;
      },
      { timeoutMs: 10_000, what: "every service on the console" },
    );
    expect(services.instances.every((i: any) => !i.scrapeError)).toBe(true);
    const { body: events } = await api("/api/events");
    expect(events.streams.filter((s: any) => s.problem)).toEqual([]);
    expect(events.streams.find((s: any) => s.name === `${eventsPrefix}_ORDERS`).consumers.length).toBeGreaterThan(0);
    const { body: letters } = await api("/api/dead-letters");
    expect(letters.length).toBeGreaterThan(0);
    const set = await api("/api/policies/inventory", {
      method: "PUT",
      body: JSON.stringify({ retry: { maxRetries: 1 } }),
    });
    expect(set.status).toBe(200);
    expect((await api("/api/policies/inventory")).body.overrides).toEqual({ retry: { maxRetries: 1 } });
    const replay = await api(`/api/dead-letters/${letters[0].id}/replay`, { method: "POST" });
    expect(replay.status).toBe(200);
    expect(["failed again", "resolved"]).toContain(replay.body.outcome);
  } finally {
    await console.stop();
  }
  const violations = console.logs.filter((l) => /permission/i.test(JSON.stringify(l)));
  expect(violations).toEqual([]);
}, 60_000);
