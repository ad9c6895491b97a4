// `bun run invariants`: reads the order, inventory, payment, customer, notification and marketing
// databases and the dead letters on NATS, and reports every breach of DESIGN.md's invariants 1 (no
// oversell), 2 (no double charge: also the card provider's captures against the captured payments),
// 3 (compensation), 4 (one effect per event; marketing's spend against the confirmed orders), 5 (nothing
// lost) and 6 (nothing stuck: no saga left half-way past the bound).
import { jetstream, jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import postgres from "postgres";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, integer, maskCredentials, readConfig, text, url } from "../services/kit";
import { DeadLetters, eventsConfig, EventNames } from "../services/kit/events";
import { PLATFORM_STREAMS } from "../services/platform/communication";
import { connectOperatorNats } from "./operator-nats";

export interface InvariantOptions {
  /** One client per service database; the same client for all when they share a server. */
  order: postgres.Sql;
  inventory: postgres.Sql;
  payment: postgres.Sql;
  /** Invariants 4 and 5 read these too when given: notification's e-mails, customer's outbox, marketing's spend. */
  notification?: postgres.Sql;
  customer?: postgres.Sql;
  marketing?: postgres.Sql;
  schemas: {
    order: string;
    inventory: string;
    payment: string;
    notification?: string;
    customer?: string;
    marketing?: string;
  };
  /** The dead letters (invariant 5); without them only the outboxes are checked for it. */
  events?: { jsm: JetStreamManager; names: EventNames; deadLetters: DeadLetters };
  /**
   * An order in a transitional state, untouched for longer than this and not being worked on, is stuck;
   * an outbox row, a confirmation e-mail or a dead letter this late is missing.
   */
  stuckAfterSeconds: number;
}

export interface Breach {
  invariant: 1 | 2 | 3 | 4 | 5 | 6;
  subject: string;
  problem: string;
}

const q = (schema: string, table: string) => `"${schema}"."${table}"`;

/** The saga's states between PENDING and a final one. */
const TRANSITIONAL = new Set(["reserving", "reserved", "paid", "payment_pending"]);

export async function checkInvariants(
  o: InvariantOptions,
): Promise<{ breaches: Breach[]; counts: Record<string, number> }> {
  const breaches: Breach[] = [];
  const inv = o.schemas.inventory;

  // 1. No oversell.
  const products = await o.inventory.unsafe<{ id: string; stock: number; reserved: number; held: number }[]>(`
    select p.id, p.stock, p.reserved,
           coalesce((select sum(ri.quantity) from ${q(inv, "reservation_items")} ri
                     join ${q(inv, "reservations")} r on r.id = ri.reservation_id
                     where ri.product_id = p.id and r.status = 'active'), 0)::int as held
    from ${q(inv, "products")} p`);
  for (const p of products) {
    if (p.stock < 0) breaches.push({ invariant: 1, subject: `product ${p.id}`, problem: `stock is ${p.stock}` });
    if (p.reserved < 0 || p.reserved > p.stock)
      breaches.push({
        invariant: 1,
        subject: `product ${p.id}`,
        problem: `reserved ${p.reserved} with stock ${p.stock}`,
      });
    if (p.reserved !== p.held)
      breaches.push({
        invariant: 1,
        subject: `product ${p.id}`,
        problem: `reserved says ${p.reserved}, active reservations hold ${p.held}`,
      });
  }

  const orders = await o.order.unsafe<
    {
      id: string;
      customer_id: string;
      state: string;
      target: string;
      total_minor: string;
      currency: string;
      reservation_id: string;
      payment_id: string;
      stale: boolean;
    }[]
  >(`
    select id, customer_id::text, state, target, total_minor::text, currency, reservation_id, payment_id,
           (updated_at < now() - make_interval(secs => ${Number(o.stuckAfterSeconds)})
            and (lease_until is null or lease_until < now())) as stale
    from ${q(o.schemas.order, "orders")}`);
  const payments = await o.payment.unsafe<
    { id: string; order_id: string; state: string; amount_minor: string; currency: string; idempotency_key: string }[]
  >(`
    select id, order_id, state, amount_minor::text, currency, idempotency_key from ${q(o.schemas.payment, "payments")}`);
  const reservations = await o.inventory.unsafe<{ id: string; order_id: string; status: string }[]>(`
    select id::text, order_id, status from ${q(inv, "reservations")}`);

  const paymentsByOrder = new Map<string, (typeof payments)[number][]>();
  for (const p of payments) paymentsByOrder.set(p.order_id, [...(paymentsByOrder.get(p.order_id) ?? []), p]);
  const reservationsByOrder = new Map<string, (typeof reservations)[number][]>();
  for (const r of reservations)
    reservationsByOrder.set(r.order_id, [...(reservationsByOrder.get(r.order_id) ?? []), r]);

  // 2. No double charge: at most one captured payment per order (refunded ones were captures too).
  for (const [orderId, list] of paymentsByOrder) {
    const charged = list.filter((p) => p.state === "captured" || p.state === "refunded");
    if (charged.length > 1)
      breaches.push({
        invariant: 2,
        subject: `order ${orderId}`,
        problem: `${charged.length} payments were captured: ${charged.map((p) => p.id).join(", ")}`,
      });
  }

  for (const order of orders) {
    const subject = `order ${order.id}`;
    const mine = paymentsByOrder.get(order.id) ?? [];
    const captured = mine.filter((p) => p.state === "captured");
    const held = (reservationsByOrder.get(order.id) ?? []).filter((r) => r.status === "active");
    if (order.state === "confirmed") {
      // 2. A CONFIRMED order has exactly one captured payment, the one it names, for its total.
      if (captured.length !== 1)
        breaches.push({ invariant: 2, subject, problem: `confirmed with ${captured.length} captured payments` });
      else if (captured[0]!.id !== order.payment_id)
        breaches.push({
          invariant: 2,
          subject,
          problem: `names payment ${order.payment_id}, captured is ${captured[0]!.id}`,
        });
      else if (captured[0]!.amount_minor !== order.total_minor || captured[0]!.currency !== order.currency)
        breaches.push({
          invariant: 2,
          subject,
          problem: `total ${order.total_minor} ${order.currency}, captured ${captured[0]!.amount_minor} ${captured[0]!.currency}`,
        });
      if (held.length)
        breaches.push({
          invariant: 3,
          subject,
          problem: `confirmed but reservation ${held[0]!.id} is still active (not committed)`,
        });
    }
    // 3. A failed or cancelled order holds no reservation and no unrefunded capture.
    if (order.state === "payment_failed" || order.state === "cancelled") {
      if (held.length)
        breaches.push({
          invariant: 3,
          subject,
          problem: `${order.state} but reservation ${held.map((r) => r.id).join(", ")} is active`,
        });
      if (captured.length)
        breaches.push({
          invariant: 3,
          subject,
          problem: `${order.state} but payment ${captured.map((p) => p.id).join(", ")} is captured and not refunded`,
        });
    }
    // An order that never got to be confirmed has no captured payment either.
    if ((order.state === "pending" || order.state === "reserving" || order.state === "reserved") && captured.length)
      breaches.push({ invariant: 3, subject, problem: `${order.state} but payment ${captured[0]!.id} is captured` });
    // A pending order left alone holds no stock (a confirm that gave up released what it may have reserved).
    if (order.state === "pending" && order.stale && held.length)
      breaches.push({
        invariant: 3,
        subject,
        problem: `pending but reservation ${held.map((r) => r.id).join(", ")} is active`,
      });
    // 6. Nothing stuck in a transitional state (or with a saga under way) once faults clear.
    if ((TRANSITIONAL.has(order.state) || order.target !== "") && order.stale)
      breaches.push({
        invariant: 6,
        subject,
        problem: `${order.state}${order.target ? ` (on its way to ${order.target})` : ""} for more than ${o.stuckAfterSeconds} s with nobody working on it`,
      });
  }

  // 2, from the card provider's side: every capture it made under a key is one payment captured (or
  // refunded) under that key, and every captured payment is a capture the provider made.
  const ledger = await o.payment.unsafe<{ idempotency_key: string; outcome: string }[]>(`
    select idempotency_key, outcome from ${q(o.schemas.payment, "provider_charges")}`);
  const capturedKeys = new Set(ledger.filter((l) => l.outcome === "captured").map((l) => l.idempotency_key));
  const paidByKey = new Map(
    payments.filter((p) => p.state === "captured" || p.state === "refunded").map((p) => [p.idempotency_key, p]),
  );
  for (const key of capturedKeys)
    if (!paidByKey.has(key))
      breaches.push({
        invariant: 2,
        subject: `provider capture ${key}`,
        problem: "the provider captured under this key, but no payment is captured or refunded for it",
      });
  for (const [key, p] of paidByKey)
    if (!capturedKeys.has(key))
      breaches.push({
        invariant: 2,
        subject: `payment ${p.id}`,
        problem: `${p.state}, but the provider has no capture under its key ${key}`,
      });

  // 2 and 3, from the payment side: a capture for an order that does not know it.
  const known = new Set(orders.map((x) => x.id));
  for (const p of payments) {
    if (p.state === "captured" && !known.has(p.order_id))
      breaches.push({ invariant: 3, subject: `payment ${p.id}`, problem: `captured for unknown order ${p.order_id}` });
  }

  // 4. Exactly one effect per event: one confirmation e-mail per confirmed order, never two; a confirmed
  //    order without one, once the consumers had time, is missing its effect (look in the DLQ).
  const counts: Record<string, number> = {
    products: products.length,
    payments: payments.length,
    reservations: reservations.length,
    "provider.captures": capturedKeys.size,
  };
  if (o.notification && o.schemas.notification) {
    const mails = await o.notification.unsafe<{ order_id: string; n: number }[]>(`
      select order_id::text, count(*)::int as n from ${q(o.schemas.notification, "emails")} where kind = 'order_confirmed' group by order_id`);
    const mailsPerOrder = new Map(mails.map((m) => [m.order_id, m.n]));
    for (const m of mails)
      if (m.n > 1)
        breaches.push({
          invariant: 4,
          subject: `order ${m.order_id}`,
          problem: `${m.n} confirmation e-mails for one OrderConfirmed`,
        });
    for (const order of orders) {
      if (order.state === "confirmed" && order.stale && !mailsPerOrder.has(order.id))
        breaches.push({
          invariant: 4,
          subject: `order ${order.id}`,
          problem: `confirmed more than ${o.stuckAfterSeconds} s ago and no confirmation e-mail was sent (is it in the DLQ?)`,
        });
    }
    counts["emails.order_confirmed"] = mails.reduce((sum, m) => sum + m.n, 0);
  }

  // 4, marketing's side: each customer's net spend is the total of their confirmed orders (a cancelled
  //    one was refunded and taken off again), once the events had time to arrive.
  if (o.marketing && o.schemas.marketing) {
    const spent = await o.marketing.unsafe<{ customer_id: string; currency: string; amount_minor: string }[]>(`
      select customer_id::text, currency, amount_minor::text from ${q(o.schemas.marketing, "profile_spend")}`);
    const expected = new Map<string, bigint>();
    const unsettled = new Set<string>();
    for (const x of orders) {
      if (x.state === "confirmed")
        expected.set(
          `${x.customer_id} ${x.currency}`,
          (expected.get(`${x.customer_id} ${x.currency}`) ?? 0n) + BigInt(x.total_minor),
        );
      // Only customers all of whose orders are settled and old enough: the rest may still be on their way.
      if (!x.stale || TRANSITIONAL.has(x.state)) unsettled.add(x.customer_id);
    }
    const actual = new Map(spent.map((r) => [`${r.customer_id} ${r.currency}`, BigInt(r.amount_minor)]));
    for (const key of new Set([...expected.keys(), ...actual.keys()])) {
      const [customer, currency] = key.split(" ");
      if (unsettled.has(customer!)) continue;
      const want = expected.get(key) ?? 0n;
      const have = actual.get(key) ?? 0n;
      if (want !== have)
        breaches.push({
          invariant: 4,
          subject: `customer ${customer}`,
          problem: `marketing counts ${have} ${currency} spent, the confirmed orders total ${want}`,
        });
    }
    counts["marketing.customers"] = new Set(spent.map((r) => r.customer_id)).size;
  }

  // 5. Nothing lost: every outbox row is published (in time), every dead message is a DLQ entry with
  //    its reason and the original message, and no advisory waits unturned into one.
  const outboxes: [string, postgres.Sql, string | undefined][] = [
    ["order", o.order, o.schemas.order],
    ["inventory", o.inventory, o.schemas.inventory],
    ["payment", o.payment, o.schemas.payment],
    ["customer", o.customer ?? o.order, o.customer ? o.schemas.customer : undefined],
  ];
  counts["outbox.unpublished"] = 0;
  for (const [service, client, schema] of outboxes) {
    if (!schema) continue;
    const [late] = await client.unsafe<{ n: number; waiting: number }[]>(`
      select count(*) filter (where created_at < now() - make_interval(secs => ${Number(o.stuckAfterSeconds)}))::int as n, count(*)::int as waiting
      from ${q(schema, "outbox")} where published_at is null`);
    counts["outbox.unpublished"] += late!.waiting;
    if (late!.n)
      breaches.push({
        invariant: 5,
        subject: `${service} outbox`,
        problem: `${late!.n} events written more than ${o.stuckAfterSeconds} s ago are not published`,
      });
  }
  if (o.events) {
    const letters = await o.events.deadLetters.list();
    counts["dlq.entries"] = letters.length;
    for (const l of letters) {
      if (!l.reason.trim())
        breaches.push({
          invariant: 5,
          subject: `dead letter ${l.id}`,
          problem: `no reason recorded (${l.consumer}, event ${l.eventId})`,
        });
      if (l.headers["dlq-original-missing"] === "true" || (!l.eventId && l.data.length === 0))
        breaches.push({
          invariant: 5,
          subject: `dead letter ${l.id}`,
          problem: `the original message was gone from ${l.stream} before it was kept`,
        });
    }
    for (const stream of PLATFORM_STREAMS) {
      const advisories = await o.events.jsm.streams.info(o.events.names.advisories(stream)).catch(() => undefined);
      const oldest = advisories?.state.messages ? Date.parse(advisories.state.first_ts) : undefined;
      if (oldest !== undefined && Date.now() - oldest > o.stuckAfterSeconds * 1000)
        breaches.push({
          invariant: 5,
          subject: "dead letters",
          problem: `${advisories!.state.messages} dead messages are not written to the DLQ yet, the oldest since ${new Date(oldest).toISOString()} (consumers of ${stream.name})`,
        });
    }
  }

  for (const x of orders) counts[`orders.${x.state}`] = (counts[`orders.${x.state}`] ?? 0) + 1;
  return { breaches, counts };
}

const SERVICES_WITH_DATA = ["order", "inventory", "payment", "customer", "notification", "marketing"] as const;

/**
 * What the checker reads, from the environment: one Postgres (DATABASE_URL, or one per service with
 * <SERVICE>_DATABASE_URL) and each service's schema (<SERVICE>_SCHEMA, default DATABASE_SCHEMA_PREFIX +
 * the service name, as the services name theirs). It reads Postgres only: a platform on its embedded
 * PGlite databases (`bun run dev` without DATABASE_URL) keeps its data in files its services hold open,
 * so without DATABASE_URL it refuses, saying where the data is and how to run on Postgres instead.
 */
export function invariantsSource(env: Record<string, string | undefined> = process.env) {
  const prefix = env.DATABASE_SCHEMA_PREFIX ?? "";
  const cfg = {
    ...readConfig(
      {
        DATABASE_URL: url("", ["postgres", "postgresql"]),
        ORDER_DATABASE_URL: url("", ["postgres", "postgresql"]),
        INVENTORY_DATABASE_URL: url("", ["postgres", "postgresql"]),
        PAYMENT_DATABASE_URL: url("", ["postgres", "postgresql"]),
        CUSTOMER_DATABASE_URL: url("", ["postgres", "postgresql"]),
        NOTIFICATION_DATABASE_URL: url("", ["postgres", "postgresql"]),
        MARKETING_DATABASE_URL: url("", ["postgres", "postgresql"]),
        ORDER_SCHEMA: text(`${prefix}order`),
        INVENTORY_SCHEMA: text(`${prefix}inventory`),
        PAYMENT_SCHEMA: text(`${prefix}payment`),
        CUSTOMER_SCHEMA: text(`${prefix}customer`),
        NOTIFICATION_SCHEMA: text(`${prefix}notification`),
        MARKETING_SCHEMA: text(`${prefix}marketing`),
        NATS_URL: url("nats://127.0.0.1:4222", ["nats", "tls", "ws", "wss"]),
        STUCK_AFTER_SECONDS: integer(60, { min: 1 }),
        DATA_DIR: text(".data"),
      },
      env,
    ),
    // Which platform's dead letters (the streams' prefix), as the services read it.
    EVENTS_PREFIX: eventsConfig(env).EVENTS_PREFIX,
  };
  const urls = {
    order: cfg.ORDER_DATABASE_URL || cfg.DATABASE_URL,
    inventory: cfg.INVENTORY_DATABASE_URL || cfg.DATABASE_URL,
    payment: cfg.PAYMENT_DATABASE_URL || cfg.DATABASE_URL,
    customer: cfg.CUSTOMER_DATABASE_URL || cfg.DATABASE_URL,
    notification: cfg.NOTIFICATION_DATABASE_URL || cfg.DATABASE_URL,
    marketing: cfg.MARKETING_DATABASE_URL || cfg.DATABASE_URL,
  };
  const missing = SERVICES_WITH_DATA.filter((s) => !urls[s]);
  if (missing.length) {
    const embedded = SERVICES_WITH_DATA.map((s) => join(cfg.DATA_DIR, s, "pglite")).filter((d) => existsSync(d));
    throw new ConfigError([
      `DATABASE_URL is not set, so there is no Postgres to read${missing.length < SERVICES_WITH_DATA.length ? ` for ${missing.join(", ")}` : ""}. ` +
        (embedded.length
          ? `The services here keep their data in embedded PGlite databases (${embedded.join(", ")}), which invariants cannot read while they hold them. `
          : "") +
        `Run the platform on Postgres (DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres bun run dev) and invariants with the same DATABASE_URL.`,
    ]);
  }
  const schemas = {
    order: cfg.ORDER_SCHEMA,
    inventory: cfg.INVENTORY_SCHEMA,
    payment: cfg.PAYMENT_SCHEMA,
    customer: cfg.CUSTOMER_SCHEMA,
    notification: cfg.NOTIFICATION_SCHEMA,
    marketing: cfg.MARKETING_SCHEMA,
  };
  const servers = [...new Set(Object.values(urls))].map(maskCredentials);
  const description =
    `reading Postgres at ${servers.join(", ")}: schemas ${Object.values(schemas).join(", ")}; ` +
    `dead letters on NATS ${maskCredentials(cfg.NATS_URL)} (events prefix ${cfg.EVENTS_PREFIX})`;
  return { cfg, urls, schemas, description };
}

if (import.meta.main) {
  let source;
  try {
    source = invariantsSource();
  } catch (e) {
    console.error(`invariants: ${e instanceof ConfigError ? e.message : e}`);
    process.exit(2);
  }
  const { cfg, urls } = source;
  console.log(`invariants: ${source.description}`);
  const open = (u: string) => postgres(u, { max: 2, onnotice: () => {}, connect_timeout: 5 });
  const [order, inventory, payment, customer, notification, marketing] = SERVICES_WITH_DATA.map((s) =>
    open(urls[s]),
  ) as [postgres.Sql, postgres.Sql, postgres.Sql, postgres.Sql, postgres.Sql, postgres.Sql];
  const nc = await connectOperatorNats(
    cfg.NATS_URL,
    "invariants",
    (m) => new Error(m),
    " (for the dead letters)",
  ).catch((e) => {
    console.error(`invariants: ${e instanceof Error ? e.message : e}`);
    process.exit(2);
  });
  try {
    const jsm = await jetstreamManager(nc);
    const names = new EventNames(cfg.EVENTS_PREFIX);
    const { breaches, counts } = await checkInvariants({
      order,
      inventory,
      payment,
      customer,
      notification,
      marketing,
      schemas: source.schemas,
      events: { jsm, names, deadLetters: new DeadLetters(jsm, jetstream(nc), names) },
      stuckAfterSeconds: cfg.STUCK_AFTER_SECONDS,
    });
    console.log(
      Object.entries(counts)
        .map(([k, v]) => `${k}=${v}`)
        .join(" "),
    );
    for (const b of breaches) console.log(`invariant ${b.invariant} broken: ${b.subject}: ${b.problem}`);
    console.log(breaches.length ? `${breaches.length} breaches` : "all invariants hold (1, 2, 3, 4, 5, 6)");
    process.exitCode = breaches.length ? 1 : 0;
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    const hint = /relation .* does not exist|schema .* does not exist/.test(why)
      ? ` (${source.description}: did the services run with this DATABASE_URL and these schemas?)`
      : "";
    console.error(`invariants: cannot read the databases or the dead letters: ${why}${hint}`);
    process.exitCode = 2;
  } finally {
    await Promise.all([
      order.end(),
      inventory.end(),
      payment.end(),
      customer.end(),
      notification.end(),
      marketing.end(),
      nc.close(),
    ]);
  }
}
