// Trust on the bus, on a nats-server of the test's own running the generated authorization: no
// credentials, no connection; a service's identity does what the communication table gives it and
// nothing else; the operator does everything. (Before: NATS took anyone, and an anonymous client
// confirmed an unpaid order with a forged PaymentProcessed and rewrote the policy bucket.)
import { PAYMENTS } from "../../services/payment/contract/events";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { Svcm } from "@nats-io/services";
import { fromSeed } from "@nats-io/nkeys";
import { connect, headers, nkeyAuthenticator, type NatsConnection } from "@nats-io/transport-node";
import {
  provisionEventStreams,
  EventNames,
  ensureStreams,
  eventsConfig,
  ensureConsumer,
  eventConsumerDurable,
  DeadLetters,
} from "../../services/kit/events";
import { registeredName, serviceSubjects, listInstances, registerService } from "../../services/kit/nats";
import { registrationProof, registrationVerifier, inboxPrefixOf } from "../../services/kit/trust";
import { startTestNatsServer, type TestNatsServer, waitFor } from "../../services/kit/testing";
import { platformAuthorizationConf, platformIdentities, type KeyPairText } from "../../services/platform/identities";
import { PLATFORM_CONSUMERS, PLATFORM_STREAMS } from "../../services/platform/communication";
import { kvPolicies } from "../../services/kit/resilience";
import { NatsUnaryCalls, rpcSubject } from "../../services/kit/rpc";
import { Code, ConnectError } from "@connectrpc/connect";
import { PaymentService } from "../../services/contracts/gen/shop/payment/v1/payment_service_pb";
import pino from "pino";

const namespace = "trust";
const prefix = "tt";
const names = new EventNames(prefix);
const policyBucket = "trust_policies";
let nats: TestNatsServer;
let ids: Record<string, KeyPairText>;
const opened: NatsConnection[] = [];

async function as(name: string): Promise<NatsConnection> {
  const nc = await connect({
    servers: nats.url,
    authenticator: nkeyAuthenticator(new TextEncoder().encode(ids[name]!.seed)),
    inboxPrefix: name === "operator" ? undefined : inboxPrefixOf(name),
    reconnect: false,
  });
  opened.push(nc);
  return nc;
}

/** The platform's streams and durable consumers, laid out (again) by the operator (`nc`). */
const provisionAs = (nc: NatsConnection) =>
  provisionEventStreams(nc, names, eventsConfig({ EVENTS_PREFIX: prefix }), pino({ level: "silent" }), {
    streams: PLATFORM_STREAMS,
    consumers: PLATFORM_CONSUMERS,
  });

/** The ids of the payment instances a lookup through the NATS services API finds from `nc` (none when it may not look). */
async function paymentInstancesSeenBy(nc: NatsConnection): Promise<string[]> {
  const lookup = await new Svcm(nc)
    .client({ strategy: "stall", stall: 200, maxWait: 1000 })
    .info(registeredName(namespace, "payment"));
  const seen: string[] = [];
  try {
    for await (const info of lookup) seen.push(info.id);
  } catch {}
  return seen;
}

/** Resolves with the error the server answered a denied operation with. */
const refused = async (p: Promise<unknown>) =>
  String(
    await p.then(
      () => "allowed",
      (e) => e,
    ),
  );

beforeAll(async () => {
  ids = platformIdentities();
  nats = await startTestNatsServer({
    config: platformAuthorizationConf(ids, { namespace, eventsPrefix: prefix, policyBucket }),
  });
  // The operator lays out the streams and the policy bucket.
  const op = await as("operator");
  await provisionAs(op);
  await new Kvm(op).create(policyBucket);
});

afterAll(async () => {
  for (const nc of opened) await nc.close().catch(() => {});
  await nats?.destroy();
});

test("no credentials, no connection; an unknown key neither", async () => {
  expect(await refused(connect({ servers: nats.url, reconnect: false }))).toMatch(/Authorization Violation/i);
  const stranger = platformIdentities().order!;
  expect(
    await refused(
      connect({
        servers: nats.url,
        reconnect: false,
        authenticator: nkeyAuthenticator(new TextEncoder().encode(stranger.seed)),
      }),
    ),
  ).toMatch(/Authorization Violation/i);
});

describe("order's identity", () => {
  test("publishes its own events and the PaymentRequested command, never payment's outcomes", async () => {
    const js = jetstream(await as("order"));
    expect((await js.publish(names.subject("orders.confirmed"), new Uint8Array([1]))).stream).toBe(
      names.stream("ORDERS"),
    );
    expect((await js.publish(names.subject("payments.requested"), new Uint8Array([1]))).stream).toBe(
      names.stream("PAYMENTS"),
    );
    expect(
      await refused(js.publish(names.subject("payments.processed"), new Uint8Array([1]), { timeout: 2000 })),
    ).toMatch(/Permissions Violation|timeout/i);
  });

  test("calls on the bus go only where the communication table lets them: gateway may not call payment", async () => {
    const method = PaymentService.method.getPaymentStatus;
    const path = `/${PaymentService.typeName}/${method.name}`;
    const ask = async (caller: string) => {
      const calls = new NatsUnaryCalls(await as(caller), { inboxPrefix: inboxPrefixOf(caller) });
      try {
        return await calls
          .call(method, {
            subject: rpcSubject(namespace, "payment", path, "someinstance"),
            signal: new AbortController().signal,
            timeoutMs: 5000,
            header: undefined,
            input: { paymentId: "p-1" },
          })
          .then(
            () => undefined,
            (e) => ConnectError.from(e),
          );
      } finally {
        calls.close();
      }
    };
    // Order may: nothing serves that instance's subject, which the server says at once.
    expect((await ask("order"))?.code).toBe(Code.Unavailable);
    // The gateway may not: refused by the server, and the caller hears so at once (not by a timeout).
    const refusedCall = await ask("gateway");
    expect(refusedCall?.code).toBe(Code.PermissionDenied);
    expect(refusedCall?.rawMessage).toMatch(/Permissions Violation/i);
  });

  test("cannot register as payment, nor read payment's endpoints or replies", async () => {
    const real = await new Svcm(await as("payment")).add({
      name: registeredName(namespace, "payment"),
      version: "1.0.0",
      metadata: { namespace, http_url: "http://127.0.0.1:7777" },
    });
    const nc = await as("order");
    const fake = await new Svcm(nc).add({
      name: registeredName(namespace, "payment"),
      version: "6.6.6",
      metadata: { namespace, http_url: "http://127.0.0.1:6666" },
    });
    await nc.flush();
    // Whoever looks payment up (order itself, from another connection) sees the real one only.
    const seen = await paymentInstancesSeenBy(await as("order"));
    expect(seen).not.toContain(fake.info().id);
    expect(seen).toEqual([real.info().id]);
    const nc2 = await as("order");
    const sub = nc2.subscribe(`${serviceSubjects(namespace, "payment")}.>`);
    expect(
      await refused(
        (async () => {
          for await (const _ of sub) {
          }
        })(),
      ),
    ).toMatch(/Permissions Violation/i);
    const nc3 = await as("order");
    const inbox = nc3.subscribe(`${inboxPrefixOf("payment")}.>`);
    expect(
      await refused(
        (async () => {
          for await (const _ of inbox) {
          }
        })(),
      ),
    ).toMatch(/Permissions Violation/i);
  });

  test("reads the policy bucket but cannot write it", async () => {
    const kv = await new Kvm(await as("order")).open(policyBucket);
    expect(await kv.get("payment")).toBeNull();
    expect(await refused(kv.put("payment", '{"bulkhead":{"maxConcurrent":1,"maxQueued":0}}'))).toMatch(
      /Permissions Violation|timeout/i,
    );
  });

  test("cannot delete, purge, change or create a stream", async () => {
    const jsm = await jetstreamManager(await as("order"));
    expect(await refused(jsm.streams.delete(names.stream("PAYMENTS")))).toMatch(/Permissions Violation|timeout/i);
    expect(await refused(jsm.streams.purge(names.stream("ORDERS")))).toMatch(/Permissions Violation|timeout/i);
    // Shrinking payment's stream to one message, or taking its subjects, would lose events as surely.
    expect(await refused(jsm.streams.update(names.stream("PAYMENTS"), { max_msgs: 1 }))).toMatch(
      /Permissions Violation|timeout/i,
    );
    expect(
      await refused(
        jsm.streams.update(names.stream("ORDERS"), {
          subjects: [names.subject("orders.>"), names.subject("payments.>")],
        }),
      ),
    ).toMatch(/Permissions Violation|timeout/i);
    expect(
      await refused(jsm.streams.add({ name: names.stream("ORDERS2" as never), subjects: ["elsewhere.>"] })),
    ).toMatch(/Permissions Violation|timeout/i);
    expect((await jsm.streams.info(names.stream("PAYMENTS"))).config.max_msgs).toBe(-1);
  });

  test("starts on streams the operator made: reads them, changes nothing, and says what differs", async () => {
    const jsm = await jetstreamManager(await as("order"));
    const lines: string[] = [];
    const log = pino({ level: "info" }, { write: (l: string) => void lines.push(l) });
    const outcomes = await ensureStreams(
      jsm,
      names,
      eventsConfig({ EVENTS_PREFIX: prefix, STREAM_MAX_AGE_HOURS: "1" }),
      log,
      PLATFORM_STREAMS,
    );
    expect(outcomes.find((o) => o.stream === names.stream("ORDERS"))).toMatchObject({
      outcome: "differs",
      changed: ["max_age"],
    });
    expect(lines.join("")).toContain("bun run cli streams");
    // A stream that is missing stops the service with the operator's command to run.
    const opJsm = await jetstreamManager(await as("operator"));
    await opJsm.streams.delete(names.advisories("ORDERS"));
    try {
      expect(
        await refused(ensureStreams(jsm, names, eventsConfig({ EVENTS_PREFIX: prefix }), log, PLATFORM_STREAMS)),
      ).toContain(
        `stream ${names.advisories("ORDERS")} does not exist, and this identity may not create streams: the operator provisions them (bun run cli streams)`,
      );
    } finally {
      await ensureStreams(opJsm, names, eventsConfig({ EVENTS_PREFIX: prefix }), log, PLATFORM_STREAMS);
    }
    // Streams of another events prefix are not this identity's to read: said as such.
    expect(
      await refused(
        ensureStreams(jsm, new EventNames("tother"), eventsConfig({ EVENTS_PREFIX: "tother" }), log, PLATFORM_STREAMS),
      ),
    ).toContain("EVENTS_PREFIX");
  });
});

describe("consumers are the operator's", () => {
  // Whoever may create a consumer may make it a push consumer and have the server deliver its stream
  // to any subject with a listener, one the creator may not publish to (nats-server#8274).
  test("a service cannot create or change a consumer, not even its own durable, nor any on the policy bucket", async () => {
    const jsm = await jetstreamManager(await as("order"));
    const watcher = (await as("operator")).subscribe(names.subject("inventory.stock_changed"));
    const push = {
      durable_name: "order-payment-outcomes",
      deliver_subject: names.subject("inventory.stock_changed"),
      ack_policy: AckPolicy.None,
      deliver_policy: DeliverPolicy.All,
    };
    const opJsm = await jetstreamManager(await as("operator"));
    await opJsm.consumers.delete(names.stream("PAYMENTS"), "order-payment-outcomes");
    try {
      expect(await refused(jsm.consumers.add(names.stream("PAYMENTS"), push))).toMatch(
        /Permissions Violation|timeout/i,
      );
    } finally {
      await provisionAs(await as("operator"));
    }
    expect(
      await refused(jsm.consumers.update(names.stream("PAYMENTS"), "order-payment-outcomes", { max_deliver: 1 })),
    ).toMatch(/Permissions Violation|timeout/i);
    expect(
      await refused(
        jsm.consumers.add(`KV_${policyBucket}`, {
          name: "peek",
          deliver_subject: names.subject("inventory.stock_changed"),
          ack_policy: AckPolicy.None,
        }),
      ),
    ).toMatch(/Permissions Violation|timeout/i);
    expect(await refused(jsm.consumers.add(`KV_${policyBucket}`, { ack_policy: AckPolicy.None }))).toMatch(
      /Permissions Violation|timeout/i,
    );
    expect(
      (await opJsm.consumers.info(names.stream("PAYMENTS"), "order-payment-outcomes")).config.deliver_subject,
    ).toBeUndefined();
    expect(watcher.getProcessed()).toBe(0);
  });

  test("a service pulls from its own durable only", async () => {
    const js = jetstream(await as("order"));
    await jetstream(await as("payment")).publish(names.subject("payments.processed"), new Uint8Array([7]));
    const own = await js.consumers.get(names.stream("PAYMENTS"), "order-payment-outcomes");
    const [m] = await Array.fromAsync(await own.fetch({ max_messages: 1, expires: 2000 }));
    expect(m?.info.stream).toBe(names.stream("PAYMENTS"));
    m!.ack();
    expect(
      await refused(
        (async () => {
          const theirs = await js.consumers.get(names.stream("PAYMENTS"), "payment-requests");
          await Array.fromAsync(await theirs.fetch({ max_messages: 1, expires: 1000 }));
        })(),
      ),
    ).toMatch(/Permissions Violation|timeout/i);
  });

  test("a service starts on the durable the operator made, keeps its settings, and says what differs; a missing one stops it", async () => {
    const jsm = await jetstreamManager(await as("order"));
    const lines: string[] = [];
    const log = pino({ level: "info" }, { write: (l: string) => void lines.push(l) });
    const place = { stream: PAYMENTS, consumer: "order-payment-outcomes" } as const;
    const mine = eventConsumerDurable(
      names,
      eventsConfig({ EVENTS_PREFIX: prefix, CONSUMER_ACK_WAIT_MS: "1000" }),
      place,
    );
    const outcome = await ensureConsumer(jsm, names.stream("PAYMENTS"), mine, log);
    expect(outcome).toMatchObject({ outcome: "differs", changed: ["ack_wait"] });
    // The ack wait it works with is the one the server holds (the operator's default), not its own.
    expect(outcome.config.ack_wait).toBe(30_000 * 1_000_000);
    expect(lines.join("")).toContain("bun run cli streams");
    const opJsm = await jetstreamManager(await as("operator"));
    await opJsm.consumers.delete(names.stream("PAYMENTS"), "order-payment-outcomes");
    try {
      expect(await refused(ensureConsumer(jsm, names.stream("PAYMENTS"), mine, log))).toContain(
        `consumer order-payment-outcomes on ${names.stream("PAYMENTS")} does not exist, and this identity may not create consumers: the operator provisions them (bun run cli streams)`,
      );
    } finally {
      await provisionAs(await as("operator"));
    }
  });

  test("a service follows the policy bucket without a consumer of its own", async () => {
    const source = kvPolicies(await as("order"), { bucket: policyBucket, log: pino({ level: "silent" }) });
    await source.ready;
    const kv = await new Kvm(await as("operator")).open(policyBucket);
    await kv.put("inventory", '{"retry":{"maxRetries":5}}');
    await waitFor(() => source.settingsFor("inventory").retry.maxRetries === 5, {
      what: "order to follow the operator's put",
    });
    await kv.delete("inventory");
    await waitFor(() => source.settingsFor("inventory").retry.maxRetries === 2, {
      what: "order to follow the operator's delete",
    });
    await source.stop();
  });
});

test("a consuming service keeps the last errors of its own consumers only, and cannot empty the bucket", async () => {
  const kv = await new Kvm(await as("notification")).open(names.errorBucket);
  expect(await kv.put(`${names.stream("ORDERS")}.notification-order-emails.1`, "{}")).toBeGreaterThan(0);
  expect(await refused(kv.put(`${names.stream("PAYMENTS")}.order-payment-outcomes.1`, '{"error":"forged"}'))).toMatch(
    /Permissions Violation|timeout/i,
  );
  // Order's entry, then a roll-up sent by notification on a key of its own: refused, order's entry stays.
  const orders = await new Kvm(await as("order")).open(names.errorBucket);
  await orders.put(`${names.stream("PAYMENTS")}.order-payment-outcomes.7`, '{"error":"real"}');
  const h = headers();
  h.set("Nats-Rollup", "all");
  const js = jetstream(await as("notification"));
  expect(
    await refused(
      js.publish(
        `$KV.${names.errorBucket}.${names.stream("ORDERS")}.notification-order-emails.2`,
        new Uint8Array([1]),
        { headers: h },
      ),
    ),
  ).toMatch(/rollup/i);
  expect((await orders.get(`${names.stream("PAYMENTS")}.order-payment-outcomes.7`))?.string()).toBe('{"error":"real"}');
});

test("anyone may answer a listing of every service, but only a registration signed by the service it names is believed", async () => {
  const identity = (name: string) => {
    const keyPair = fromSeed(new TextEncoder().encode(ids[name]!.seed));
    return { name, keyPair, seed: new TextEncoder().encode(ids[name]!.seed), publicKey: keyPair.getPublicKey() };
  };
  const endpoints = { http: "http://127.0.0.1:7001" };
  const common = {
    version: "1.0.0",
    description: "",
    namespace,
    status: () => ({ ready: true }),
    rpcCounts: () => ({ requests: 0, errors: 0 }),
  };
  const real = await registerService(await as("inventory"), {
    ...common,
    name: "inventory",
    endpoints,
    prove: (m) => registrationProof(identity("inventory"), m),
  });
  // Order's identity answers the generic $SRV.INFO as "inventory", with a proof made with its own key
  // (it cannot subscribe to $SRV.INFO.<ns>-inventory, so it answers by hand, as an attacker would).
  const nc = await as("order");
  const metadata = { namespace, http_url: "http://127.0.0.1:6666" };
  const fake = { id: "FAKEINVENTORY000000000" };
  const info = {
    type: "io.nats.micro.v1.info_response",
    name: registeredName(namespace, "inventory"),
    id: fake.id,
    version: "6.6.6",
    description: "",
    metadata: { ...metadata, proof: registrationProof({ ...identity("order"), name: "inventory" }, metadata) },
    endpoints: [],
  };
  nc.subscribe("$SRV.INFO", { callback: (_, m) => void m.respond(JSON.stringify(info)) });
  await nc.flush();
  const roster = new Map(Object.entries(ids).map(([n, k]) => [n, k.publicKey]));
  const listed = await listInstances(await as("gateway"), { namespace, trusted: registrationVerifier(roster) });
  expect(listed.map((i) => i.id)).toContain(real.id);
  expect(listed.map((i) => i.id)).not.toContain(fake.id);
  // Without the check the fake shows up: that is what the proof is for.
  expect((await listInstances(await as("gateway"), { namespace })).map((i) => i.id)).toContain(fake.id);
  await real.stop();
});

test("a service looks up only the services it calls: the gateway never learns where payment is", async () => {
  await new Svcm(await as("payment")).add({
    name: registeredName(namespace, "payment"),
    version: "1.0.0",
    metadata: { namespace, http_url: "http://127.0.0.1:7777" },
  });
  expect(await paymentInstancesSeenBy(await as("gateway"))).toEqual([]);
});

test("the console's identity reads what it shows (instances, consumers, dead letters, policies) and changes none of it", async () => {
  const nc = await as("console");
  const jsm = await jetstreamManager(nc);
  const consumers: string[] = [];
  for await (const c of jsm.consumers.list(names.stream("ORDERS"))) consumers.push(c.name);
  expect(consumers).toContain("marketing-order-profiles");
  for await (const c of jsm.consumers.list(names.stream("DLQ"))) consumers.push(c.name);
  const dlq = new DeadLetters(jsm, jetstream(nc), names);
  expect(await dlq.list()).toBeArray();
  const kv = await new Kvm(nc).open(policyBucket);
  await kv.get("payment");
  // Every instance of every service, as the gateway's admin view may.
  await new Svcm(await as("payment")).add({
    name: registeredName(namespace, "payment"),
    version: "1.0.0",
    metadata: { namespace, http_url: "http://127.0.0.1:7778" },
  });
  expect((await listInstances(nc, { namespace })).some((i) => i.name === "payment")).toBe(true);

  const denied = /Permissions Violation|timeout/i;
  expect(await refused(kv.put("payment", "{}"))).toMatch(denied);
  expect(await refused(dlq.purge())).toMatch(denied);
  expect(await refused(jsm.streams.purge(names.stream("ORDERS")))).toMatch(denied);
  expect(await refused(jetstream(nc).publish(names.subject("orders.confirmed"), new Uint8Array([1])))).toMatch(denied);
  expect(
    await refused(jsm.consumers.add(names.stream("ORDERS"), { durable_name: "peek", ack_policy: AckPolicy.Explicit })),
  ).toMatch(denied);
});

test("the operator may do what services may not: write a policy, publish an outcome, delete a stream", async () => {
  const op = await as("operator");
  const kv = await new Kvm(op).open(policyBucket);
  expect(await kv.put("payment", "{}")).toBeGreaterThan(0);
  expect((await jetstream(op).publish(names.subject("payments.processed"), new Uint8Array([1]))).stream).toBe(
    names.stream("PAYMENTS"),
  );
  const jsm = await jetstreamManager(op);
  expect(await jsm.streams.purge(names.stream("ORDERS"))).toMatchObject({ success: true });
});
