import { describe, expect, test } from "bun:test";
import { ConfigError } from "../../config";
import { eventsConfig } from "../events-config";
import { OrderConfirmedSchema, OrderCreatedSchema } from "../../../contracts/gen/shop/order/v1/events_pb";
import { CustomerRegisteredSchema } from "../../../contracts/gen/shop/customer/v1/customer_pb";
import { defineEvent, defineStream, eventCatalogue } from "./contract";

// A platform of the test's own: the kit knows no one's events.
const SALES = defineStream("SALES", "sales");
const SaleConfirmed = defineEvent(SALES, OrderConfirmedSchema, "confirmed");
const PEOPLE = defineStream("PEOPLE", "people");
defineEvent(PEOPLE, CustomerRegisteredSchema, "registered");
import pino from "pino";
import { EventNames, ensureStreams, streamConfigs } from "./streams";
import { testEventStreams, type TestEventStreams } from "../../testing/test-streams";

describe("EventNames", () => {
  test("no prefix: the shared names", () => {
    const n = new EventNames("");
    expect([n.stream("ORDERS"), n.subject("orders.confirmed"), n.errorBucket]).toEqual([
      "ORDERS",
      "orders.confirmed",
      "CONSUMER_ERRORS",
    ]);
  });

  test("a prefix keeps streams, subjects and the error bucket apart", () => {
    const n = new EventNames("t1");
    expect([
      n.stream("ORDERS"),
      n.subject("orders.confirmed"),
      n.unprefixed("t1.orders.confirmed"),
      n.deadLetterSubject("t1_ORDERS", "c"),
    ]).toEqual(["t1_ORDERS", "t1.orders.confirmed", "orders.confirmed", "t1.dlq.t1_ORDERS.c"]);
    expect(n.allStreams([SALES])).toEqual(["t1_SALES", "t1_SALES_ADVISORIES", "t1_DLQ", "KV_t1_CONSUMER_ERRORS"]);
  });
});

describe("stream settings", () => {
  test("explicit: file storage, limits retention, duplicate window, replicas and max age from config", () => {
    const cfg = eventsConfig({ STREAM_REPLICAS: "3", STREAM_MAX_AGE_HOURS: "2", STREAM_DUPLICATE_WINDOW_MS: "60000" });
    const orders = streamConfigs(new EventNames(""), cfg, [SALES, PEOPLE]).find((s) => s.name === "SALES")!;
    expect(orders).toMatchObject({
      subjects: ["sales.>"],
      storage: "file",
      retention: "limits",
      num_replicas: 3,
      max_age: 2 * 3600e9,
      duplicate_window: 60e9,
    });
    const configs = streamConfigs(new EventNames("p"), cfg, [SALES, PEOPLE]);
    expect(configs.map((s) => s.name)).toEqual([
      "p_SALES",
      "p_SALES_ADVISORIES",
      "p_PEOPLE",
      "p_PEOPLE_ADVISORIES",
      "p_DLQ",
    ]);
    expect(configs.find((s) => s.name === "p_PEOPLE_ADVISORIES")!.subjects).toEqual([
      "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.p_PEOPLE.*",
      "$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.p_PEOPLE.*",
    ]);
  });

  test("bad settings are reported together, by name", () => {
    try {
      eventsConfig({ EVENTS_PREFIX: "Bad-Prefix", STREAM_REPLICAS: "0", CONSUMER_BACKOFF_MS: "1s,2s" });
      throw new Error("expected a ConfigError");
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).problems.map((p) => p.split("=")[0])).toEqual([
        "EVENTS_PREFIX",
        "STREAM_REPLICAS",
        "CONSUMER_BACKOFF_MS",
      ]);
    }
  });

  test("the backoff schedule parses to milliseconds", () => {
    expect(eventsConfig({ CONSUMER_BACKOFF_MS: "100, 200,400" }).CONSUMER_BACKOFF_MS).toEqual([100, 200, 400]);
  });
});

describe("event types", () => {
  test("the type is the message's full name; the subject is the stream's domain and the event", () => {
    expect(SaleConfirmed).toMatchObject({
      type: "shop.order.v1.OrderConfirmed",
      subject: "sales.confirmed",
      stream: SALES,
    });
    expect(SALES.events).toEqual([SaleConfirmed]);
    expect(eventCatalogue([SALES, PEOPLE]).get("shop.customer.v1.CustomerRegistered")?.stream).toBe(PEOPLE);
  });

  test("names that are no subject token, the dead letters' names, an event declared twice: refused", () => {
    expect(() => defineStream("sales", "sales")).toThrow("upper-case");
    expect(() => defineStream("DLQ", "dead")).toThrow("not DLQ");
    expect(() => defineStream("SALES_ADVISORIES", "sales2")).toThrow("_ADVISORIES");
    expect(() => defineStream("SHIP", "ship.ments")).toThrow("one lower-case subject token");
    expect(() => defineEvent(SALES, OrderCreatedSchema, "created.twice")).toThrow("one lower-case subject token");
    expect(() => defineEvent(SALES, OrderConfirmedSchema, "again")).toThrow(
      "SALES already has shop.order.v1.OrderConfirmed",
    );
  });
});

describe("the shared advisory stream of an older version", () => {
  const oldSubjects = (names: EventNames) => [
    `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${names.stream(SALES)}.*`,
    `$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.${names.stream(SALES)}.*`,
  ];

  /** The SALES stream (and its advisories) ensured under the test streams' prefix. */
  const ensureSales = (ev: TestEventStreams) =>
    ensureStreams(ev.jsm, ev.names, eventsConfig({ EVENTS_PREFIX: ev.prefix }), pino({ level: "silent" }), [SALES]);

  test("is removed when empty, and the stream's own advisory stream takes its subjects", async () => {
    const ev = await testEventStreams();
    try {
      await ev.jsm.streams.add({ name: ev.names.stream("DLQ_ADVISORIES"), subjects: oldSubjects(ev.names) });
      const outcomes = await ensureSales(ev);
      expect(outcomes).toContainEqual({ stream: ev.names.stream("DLQ_ADVISORIES"), outcome: "removed" });
      expect((await ev.jsm.streams.info(ev.names.advisories(SALES))).config.subjects).toEqual(oldSubjects(ev.names));
    } finally {
      await ev.drop();
    }
  });

  test("holding advisories, it stays, and the start stops saying why", async () => {
    const ev = await testEventStreams();
    try {
      await ev.jsm.streams.add({ name: ev.names.stream("DLQ_ADVISORIES"), subjects: oldSubjects(ev.names) });
      await ev.js.publish(oldSubjects(ev.names)[0]!.replace("*", "someone"), new Uint8Array([1]));
      const why = await ensureSales(ev).then(
        () => "started",
        (e) => String(e),
      );
      expect(why).toContain(
        `stream ${ev.names.stream("DLQ_ADVISORIES")} (of an older version) still holds 1 advisories`,
      );
      expect((await ev.jsm.streams.info(ev.names.stream("DLQ_ADVISORIES"))).state.messages).toBe(1);
    } finally {
      await ev.drop();
    }
  });
});
