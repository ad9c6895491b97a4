// Notification as real processes (two replicas) on the real Postgres and NATS JetStream, sending to a
// real SMTP server running in this test: one e-mail per event whatever the redeliveries, backoff on
// transient refusals, dead letters with their reasons, and `cli/dlq.ts replay` once the cause is fixed.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { headers as natsHeaders } from "@nats-io/transport-node";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { OrderSchema, OrderStatus } from "../../services/contracts/gen/shop/order/v1/order_service_pb";
import { CE, eventHeaders } from "../../services/kit/events";
import { CustomerRegistered } from "../../services/customer/contract/events";
import { ORDERS, OrderCancelled, OrderConfirmed, OrderPaymentFailed } from "../../services/order/contract/events";
import {
  testEventStreams,
  type TestEventStreams,
  startServiceProcess,
  waitFor,
  type ServiceProcess,
  testSchemas,
  type TestSchemas,
  runToExit,
} from "../../services/kit/testing";
import { mailboxFile } from "../../services/notification/mail/mailer";
import { startSmtpTestServer, type SmtpTestServer } from "../../services/notification/testing/smtp-test-server";

const BACKOFF = [300, 600, 1200];
const MAX_DELIVER = 4;
const CONSUMER = "notification-order-emails";
const namespace = `notif${crypto.randomUUID().slice(0, 8)}`;

let db: TestSchemas;
let ev: TestEventStreams;
let smtp: SmtpTestServer;
let customer: ServiceProcess;
const notifications: ServiceProcess[] = [];

const notificationEnv = () => ({
  ...db.env("notification"),
  ...ev.env,
  PLATFORM_NAMESPACE: namespace,
  SMTP_URL: smtp.url,
  CONSUMER_BACKOFF_MS: BACKOFF.join(","),
  CONSUMER_MAX_DELIVER: String(MAX_DELIVER),
  // Short, so a slow SMTP server makes JetStream redeliver while the first delivery still works.
  CONSUMER_ACK_WAIT_MS: "2000",
});

beforeAll(async () => {
  db = testSchemas();
  ev = await testEventStreams();
  smtp = await startSmtpTestServer();
  customer = await startServiceProcess("customer", {
    env: { ...db.env("customer"), ...ev.env, PLATFORM_NAMESPACE: namespace },
  });
  // Two replicas share the durable consumers.
  notifications.push(
    ...(await Promise.all([1, 2].map(() => startServiceProcess("notification", { env: notificationEnv() })))),
  );
});

afterAll(async () => {
  await Promise.all([customer, ...notifications].filter(Boolean).map((p) => p.stop()));
  await smtp?.close();
  await ev?.drop();
  await db?.drop();
});

async function registerCustomer(name: string) {
  const email = `${name.toLowerCase()}-${crypto.randomUUID().slice(0, 8)}@example.com`;
  const res = await fetch(`${customer.http}/v1/customers`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, name }),
  });
  expect(res.status).toBe(201);
  const { id } = (await res.json()) as { id: string };
  // Notification keeps its own copy, from CustomerRegistered.
  await waitFor(
    async () =>
      (await db.sql.unsafe(`select 1 from "${db.schema("notification")}".customers where id = $1`, [id])).length === 1,
    { timeoutMs: 10_000, what: "the customer copy" },
  );
  return { id, email, name };
}

const order = (customerId: string, status = OrderStatus.CONFIRMED) =>
  ({
    id: crypto.randomUUID(),
    customerId,
    status,
    lines: [
      { productId: "sku-mug", quantity: 2, unitPrice: { amountMinor: 1250n, currency: "EUR" } },
      { productId: "sku-tee", quantity: 1, unitPrice: { amountMinor: 1999n, currency: "EUR" } },
    ],
    total: { amountMinor: 4499n, currency: "EUR" },
  }) satisfies MessageInitShape<typeof OrderSchema>;

const drained = () => ev.drained("ORDERS", CONSUMER);

/** Publishes a stored event again as a new message (no Nats-Msg-Id): a duplicate JetStream cannot drop. */
async function republish(eventId: string, times: number) {
  const [stored] = (await ev.stored("ORDERS", "orders.>")).filter((m) => m.header?.get(CE.id) === eventId);
  for (let i = 0; i < times; i++) {
    const h = natsHeaders();
    for (const k of stored!.header!.keys()) if (k !== "Nats-Msg-Id") h.set(k, stored!.header!.get(k));
    await ev.js.publish(stored!.subject, stored!.data, { headers: h });
  }
}

const dlq = (args: string[]) =>
  runToExit(["bun", "cli/dlq.ts", ...args], { env: { ...ev.env, DLQ_REPLAY_WAIT_MS: "15000" } });

const letterOf = async (eventId: string) => (await ev.deadLetters.list()).filter((l) => l.eventId === eventId);
const messageIdOf = (kind: string, eventId: string) => `<${kind}-${eventId}@notification.shop>`;

describe("order e-mails over SMTP", () => {
  test("an OrderConfirmed sends one e-mail from the template, however often the event arrives", async () => {
    smtp.accept();
    const ada = await registerCustomer("Ada");
    const placed = order(ada.id);
    const { id } = await ev.publish(OrderConfirmed, { order: placed }, { source: "/shop/order", entityId: placed.id });
    // The same event twice more, as new messages: only the inbox can stop them.
    await republish(id, 2);
    const messageId = messageIdOf("order_confirmed", id);
    await waitFor(() => smtp.mailsWithId(messageId).length === 1, {
      timeoutMs: 10_000,
      what: "the confirmation e-mail",
    });
    await waitFor(drained, { timeoutMs: 10_000, what: "all three copies handled" });
    expect(smtp.mailsWithId(messageId)).toHaveLength(1);
    const [mail] = smtp.mailsWithId(messageId);
    expect(mail!.to).toEqual([ada.email]);
    expect(mail!.headers.subject).toBe(`Your order ${placed.id.slice(0, 8).toUpperCase()} is confirmed`);
    expect(mail!.text).toContain("Hello Ada,");
    expect(mail!.text).toContain("payment of 44.99 EUR");
    expect(mail!.text).toContain("2 x sku-mug at 12.50 EUR");
    const rows = await db.sql.unsafe(
      `select kind, order_id, recipient from "${db.schema("notification")}".emails where event_id = $1`,
      [id],
    );
    expect(rows).toEqual([{ kind: "order_confirmed", order_id: placed.id, recipient: ada.email }] as never);
    const inbox = await db.sql.unsafe(
      `select count(*)::int as n from "${db.schema("notification")}".inbox where event_id = $1`,
      [id],
    );
    expect(inbox[0]!.n).toBe(1);
  });

  test("redelivered while the first delivery is still sending (ack wait ran out): still one e-mail", async () => {
    smtp.accept();
    const al = await registerCustomer("Al");
    smtp.delay(3500);
    const { id } = await ev.publish(OrderConfirmed, { order: order(al.id) }, { source: "/shop/order" });
    const messageId = messageIdOf("order_confirmed", id);
    // The second delivery reaches the other replica and waits on the first one's inbox row.
    await waitFor(
      () =>
        notifications
          .flatMap((p) => p.logs)
          .some(
            (l) => l.event_id === id && l.msg === "event handled before; acked without effect" && l.deliveries === 2,
          ),
      {
        timeoutMs: 15_000,
        what: "the redelivery acked without effect",
      },
    );
    await waitFor(drained, { timeoutMs: 10_000, what: "the event settled" });
    expect(smtp.mailsWithId(messageId)).toHaveLength(1);
    expect(smtp.attempts.filter((a) => a.messageId === messageId)).toHaveLength(1);
  });

  test("refused three times with 451, then accepted: one e-mail, the retries spaced by the backoff", async () => {
    const bob = await registerCustomer("Bob");
    const placed = order(bob.id, OrderStatus.PAYMENT_FAILED);
    smtp.refuse(451, 3);
    const { id } = await ev.publish(
      OrderPaymentFailed,
      { order: placed, reason: "card declined" },
      { source: "/shop/order" },
    );
    const messageId = messageIdOf("order_payment_failed", id);
    await waitFor(() => smtp.mailsWithId(messageId).length === 1, {
      timeoutMs: 15_000,
      what: "the e-mail after three refusals",
    });
    const attempts = smtp.attempts.filter((a) => a.messageId === messageId);
    expect(attempts.map((a) => a.code)).toEqual([451, 451, 451, 250]);
    // Backoff visible: each retry came at least its scheduled delay after the refusal before it.
    const gaps = attempts.slice(1).map((a, i) => a.at - attempts[i]!.at);
    gaps.forEach((gap, i) => expect(gap).toBeGreaterThanOrEqual(BACKOFF[i]! - 50));
    expect(smtp.mailsWithId(messageId)[0]!.text).toContain(
      "could not take the payment of 44.99 EUR for your order: card declined.",
    );
    // Either replica may have taken each delivery: their logs together, in time order.
    const logged = notifications
      .flatMap((p) => p.logs)
      .filter((l) => l.event_id === id && l.msg === "handler failed; retrying later")
      .sort((a, b) => String(a.time).localeCompare(String(b.time)));
    expect(logged.map((l) => l.retry_in_ms)).toEqual(BACKOFF);
    expect(await letterOf(id)).toEqual([]);
  });

  test("refused until max_deliver: a dead letter after exactly that many deliveries, with the reason; replayed after the fix, sent once and cleared", async () => {
    const cy = await registerCustomer("Cy");
    const placed = order(cy.id, OrderStatus.CANCELLED);
    smtp.refuse(451);
    const { id } = await ev.publish(
      OrderCancelled,
      { order: placed, reason: "changed my mind", refunded: placed.total },
      { source: "/shop/order" },
    );
    const letter = await waitFor(async () => (await letterOf(id))[0], { timeoutMs: 20_000, what: "the dead letter" });
    const messageId = messageIdOf("order_cancelled", id);
    expect(smtp.attempts.filter((a) => a.messageId === messageId).map((a) => a.code)).toEqual(
      Array(MAX_DELIVER).fill(451),
    );
    expect(letter).toMatchObject({
      consumer: CONSUMER,
      stream: ev.names.stream("ORDERS"),
      kind: "max_deliveries",
      deliveries: MAX_DELIVER,
      eventType: "shop.order.v1.OrderCancelled",
    });
    expect(letter.reason).toContain("451");
    expect(letter.reason).toContain(cy.email);
    expect(letter.subject).toBe(ev.names.subject("orders.cancelled"));

    const shown = await dlq(["show", String(letter.id), "--json"]);
    expect(shown.code).toBe(0);
    expect(JSON.parse(shown.stdout)).toMatchObject({
      id: letter.id,
      reason: letter.reason,
      event: { order: { id: placed.id }, reason: "changed my mind" },
    });

    smtp.accept();
    const replay = await dlq(["replay", String(letter.id)]);
    expect(replay.stdout).toContain(`resolved ${letter.id}`);
    expect(replay.code).toBe(0);
    expect(smtp.mailsWithId(messageId)).toHaveLength(1);
    expect(smtp.mailsWithId(messageId)[0]!.text).toContain("We have refunded 44.99 EUR to your card.");
    expect(await letterOf(id)).toEqual([]);
    await waitFor(drained, { timeoutMs: 10_000, what: "the replay acked" });
    expect(smtp.mailsWithId(messageId)).toHaveLength(1);
  });

  test("a permanent refusal (550) is dead-lettered at the first delivery", async () => {
    const di = await registerCustomer("Di");
    smtp.refuse(550, 1);
    const { id } = await ev.publish(OrderConfirmed, { order: order(di.id) }, { source: "/shop/order" });
    const letter = await waitFor(async () => (await letterOf(id))[0], { timeoutMs: 10_000, what: "the dead letter" });
    expect(letter).toMatchObject({ kind: "terminated", deliveries: 1, consumer: CONSUMER });
    expect(letter.reason).toContain("550");
    expect(smtp.attempts.filter((a) => a.messageId === messageIdOf("order_confirmed", id))).toHaveLength(1);
    // The server is fine again: the replay sends it.
    const replay = await dlq(["replay", String(letter.id)]);
    expect(replay.code).toBe(0);
    expect(smtp.mailsWithId(messageIdOf("order_confirmed", id))).toHaveLength(1);
  });

  test("poison: an undecodable body and an event without its order are terminated at once with the reason", async () => {
    smtp.accept();
    const before = smtp.attempts.length;
    const h = natsHeaders();
    const garbageId = crypto.randomUUID();
    for (const [k, v] of Object.entries({
      [CE.id]: garbageId,
      [CE.type]: OrderConfirmed.type,
      [CE.source]: "/test",
      [CE.time]: new Date().toISOString(),
      [CE.specversion]: "1.0",
    }))
      h.set(k, v);
    await ev.js.publish(ev.names.subject("orders.confirmed"), new Uint8Array([0xff, 0xff, 0xff, 0x01]), { headers: h });
    const { id: emptyId } = await ev.publish(OrderConfirmed, {});

    const garbage = await waitFor(async () => (await letterOf(garbageId))[0], {
      timeoutMs: 10_000,
      what: "the undecodable message's dead letter",
    });
    expect(garbage).toMatchObject({ kind: "terminated", deliveries: 1 });
    expect(garbage.reason).toStartWith("undecodable shop.order.v1.OrderConfirmed");
    const empty = await waitFor(async () => (await letterOf(emptyId))[0], {
      timeoutMs: 10_000,
      what: "the invalid event's dead letter",
    });
    expect(empty.reason).toBe("invalid shop.order.v1.OrderConfirmed: order is missing");
    expect(smtp.attempts.length).toBe(before);

    // Replaying what is still poison: it dies again and its new dead letter replaces the old one.
    const replay = await dlq(["replay", String(garbage.id)]);
    expect(replay.code).toBe(1);
    expect(replay.stdout).toContain(`failed again ${garbage.id}`);
    const now = await letterOf(garbageId);
    expect(now).toHaveLength(1);
    expect(now[0]!.id).toBeGreaterThan(garbage.id);
    expect(now[0]!.reason).toStartWith("undecodable");
  });

  test("a customer this service never saw registered is asked of the customer service over REST", async () => {
    // Written straight into the customer service's table: no CustomerRegistered for this one.
    const id = crypto.randomUUID();
    const email = `eve-${id.slice(0, 8)}@example.com`;
    await db.sql.unsafe(
      `insert into "${db.schema("customer")}".customers (id, email, name, created_at) values ($1, $2, 'Eve', now())`,
      [id, email],
    );
    const { id: eventId } = await ev.publish(OrderConfirmed, { order: order(id) }, { source: "/shop/order" });
    await waitFor(() => smtp.mailsWithId(messageIdOf("order_confirmed", eventId)).length === 1, {
      timeoutMs: 10_000,
      what: "the e-mail to Eve",
    });
    expect(smtp.mailsWithId(messageIdOf("order_confirmed", eventId))[0]!.to).toEqual([email]);
  });
});

test("without SMTP_URL, e-mails are .eml files in MAILBOX_DIR, listed by GET /v1/notifications (on embedded PGlite)", async () => {
  const mailbox = mkdtempSync(join(tmpdir(), "mailbox-"));
  const dataDir = mkdtempSync(join(tmpdir(), "data-"));
  // Its own prefix: a second, independent platform with its own consumers.
  const own = await testEventStreams();
  const local = await startServiceProcess("notification", {
    env: { ...own.env, MAILBOX_DIR: mailbox, DATA_DIR: dataDir, PLATFORM_NAMESPACE: `${namespace}b` },
  });
  try {
    await own.ensure([ORDERS]);
    const customerId = crypto.randomUUID();
    await own.publish(CustomerRegistered, { customer: { id: customerId, email: "fay@example.com", name: "Fay" } });
    // An id that is a path: dead-lettered at once, and no file lands anywhere (it once escaped the mailbox).
    const evil = "x/../../escaped";
    await own.js.publish(
      own.names.subject(OrderConfirmed.subject),
      toBinary(OrderConfirmed.schema, create(OrderConfirmed.schema, { order: order(customerId) })),
      {
        headers: eventHeaders({
          id: evil,
          type: OrderConfirmed.type,
          source: "/shop/order",
          time: new Date(),
          subject: "",
          traceparent: "",
        }),
      },
    );
    const { id } = await own.publish(OrderConfirmed, { order: order(customerId) }, { source: "/shop/order" });
    const file = mailboxFile(`order_confirmed-${id}`);
    const letter = await waitFor(
      async () => (await own.deadLetters.list()).find((l) => l.consumer === "notification-order-emails"),
      { timeoutMs: 10_000, what: "the dead letter of the evil id" },
    );
    expect(letter.reason).toContain("header ce-id must be");
    expect(letter.deliveries).toBe(1);
    await waitFor(() => readdirSync(mailbox).includes(file), { timeoutMs: 10_000, what: "the .eml file" });
    const eml = readFileSync(join(mailbox, file), "utf8");
    expect(eml).toContain("To: Fay <fay@example.com>");
    expect(eml.replace(/\n\s+/g, " ")).toContain(`Message-ID: ${messageIdOf("order_confirmed", id)}`);
    const listed = (await (await fetch(`${local.http}/v1/notifications`)).json()) as {
      notifications: { file: string }[];
    };
    expect(listed.notifications.map((n) => n.file)).toEqual([file]);
    expect(readdirSync(join(mailbox, "..")).filter((f) => f.includes("escaped"))).toEqual([]);
    expect(readdirSync(mailbox)).toEqual([file]);
  } finally {
    await local.stop();
    await own.drop();
    rmSync(mailbox, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  }
});
