// The consumer's first decision, without NATS or a database: what a message is, and what is settled at once.
import { describe, expect, test } from "bun:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { OrderCancelled, OrderConfirmed, ORDERS } from "../../../order/contract/events";
import { CustomerRegistered } from "../../../customer/contract/events";
import { fakeConsumerContext, fakeMessage } from "../../testing/fake-consumer";
import { eventHeaders, REPLAY_FOR, type EventMeta } from "../cloud-event-headers";
import { decodeMessage } from "./decode-message";
import { defineConsumer, on } from "./event-consumer";
import { payloadHash } from "./inbox";

const consumer = defineConsumer({
  name: "test-decode",
  stream: ORDERS,
  handlers: [on(OrderConfirmed, async () => {}, { validate: (e) => (e.order ? undefined : "order is missing") })],
});
const meta = (type: string): EventMeta => ({
  id: crypto.randomUUID(),
  type,
  source: "/test/decode",
  time: new Date(),
  subject: "order-1",
  traceparent: "",
});
const confirmed = toBinary(OrderConfirmed.schema, create(OrderConfirmed.schema, { order: {} }));

describe("decodeMessage", () => {
  test("an event for a handler, decoded and valid, becomes a delivery with its inbox row; nothing is settled", async () => {
    const { ctx } = fakeConsumerContext(consumer);
    const m = meta(OrderConfirmed.type);
    const { m: msg, settled } = fakeMessage({
      subject: "t.orders.confirmed",
      headers: eventHeaders(m),
      data: confirmed,
    });
    const d = await decodeMessage(ctx, msg);
    expect(settled).toEqual([]);
    expect(d?.meta.id).toBe(m.id);
    expect(d?.handler.type).toBe(OrderConfirmed);
    expect(d?.row).toEqual({
      consumer: "test-decode",
      eventId: m.id,
      eventType: OrderConfirmed.type,
      payloadHash: payloadHash(OrderConfirmed.type, confirmed),
    });
  });

  test("no event headers: poison, terminated with the reason", async () => {
    const { ctx, recorded } = fakeConsumerContext(consumer);
    const { m, settled } = fakeMessage({ subject: "t.orders.confirmed", data: confirmed, streamSequence: 7 });
    expect(await decodeMessage(ctx, m)).toBeUndefined();
    expect(settled).toEqual(["term not an event: header ce-id is missing"]);
    expect([...recorded.values()]).toMatchObject([
      { kind: "terminated", error: "not an event: header ce-id is missing" },
    ]);
  });

  test("another consumer's replay and an event of the stream without a handler are acked, as skipped", async () => {
    const { ctx } = fakeConsumerContext(consumer);
    const replay = eventHeaders(meta(OrderConfirmed.type));
    replay.set(REPLAY_FOR, "someone-else");
    const others = fakeMessage({ subject: "t.orders.confirmed", headers: replay, data: confirmed });
    const unhandled = fakeMessage({ subject: "t.orders.cancelled", headers: eventHeaders(meta(OrderCancelled.type)) });
    expect(await decodeMessage(ctx, others.m)).toBeUndefined();
    expect(await decodeMessage(ctx, unhandled.m)).toBeUndefined();
    expect([others.settled, unhandled.settled]).toEqual([["ack"], ["ack"]]);
    const skipped = (await ctx.metrics.consumed.get()).values.filter((v) => v.labels.outcome === "skipped");
    expect(skipped.reduce((n, v) => n + v.value, 0)).toBe(2);
  });

  test("a type not declared for the stream, or on another subject: dead-lettered, or skipped when so configured", async () => {
    const { ctx } = fakeConsumerContext(consumer);
    const alien = fakeMessage({ subject: "t.orders.confirmed", headers: eventHeaders(meta(CustomerRegistered.type)) });
    const misplaced = fakeMessage({ subject: "t.orders.created", headers: eventHeaders(meta(OrderConfirmed.type)) });
    await decodeMessage(ctx, alien.m);
    await decodeMessage(ctx, misplaced.m);
    expect(alien.settled).toEqual([`term unknown event type ${CustomerRegistered.type} on t.orders.confirmed`]);
    expect(misplaced.settled).toEqual([
      `term ${OrderConfirmed.type} arrived on t.orders.created, but its subject is t.orders.confirmed`,
    ]);

    const skipping = fakeConsumerContext(consumer, { env: { CONSUMER_UNKNOWN_EVENTS: "skip" } });
    const again = fakeMessage({ subject: "t.orders.confirmed", headers: eventHeaders(meta(CustomerRegistered.type)) });
    await decodeMessage(skipping.ctx, again.m);
    expect(again.settled).toEqual(["ack"]);
    expect(skipping.recorded.size).toBe(0);
  });

  test("an undecodable or invalid payload is poison; without a reason on a server that takes none", async () => {
    const { ctx } = fakeConsumerContext(consumer);
    const garbage = fakeMessage({
      subject: "t.orders.confirmed",
      headers: eventHeaders(meta(OrderConfirmed.type)),
      data: new Uint8Array([0xff, 0xff, 0xff]),
    });
    await decodeMessage(ctx, garbage.m);
    expect(garbage.settled[0]).toStartWith(`term undecodable ${OrderConfirmed.type}: `);

    const old = fakeConsumerContext(consumer, { termTakesReason: false });
    const invalid = fakeMessage({ subject: "t.orders.confirmed", headers: eventHeaders(meta(OrderConfirmed.type)) });
    await decodeMessage(old.ctx, invalid.m);
    expect(invalid.settled).toEqual(["term"]);
    expect([...old.recorded.values()][0]?.error).toBe(`invalid ${OrderConfirmed.type}: order is missing`);
  });
});
