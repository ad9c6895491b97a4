// Every way a consumer settles an event, without NATS: the nak's delay, the term's reason, what is recorded for the dead letter.
import { describe, expect, test } from "bun:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { ORDERS, OrderConfirmed } from "../../../order/contract/events";
import { fakeConsumerContext, fakeMessage } from "../../testing/fake-consumer";
import { REPLAY_OF } from "../cloud-event-headers";
import type { ConsumerContext } from "./consumer-context";
import type { Delivery } from "./delivery";
import { defineConsumer, on } from "./event-consumer";
import { PoisonMessage } from "./handler-failure";
import { settleFailed, settleHandled } from "./settle";

const consumer = defineConsumer({
  name: "test-settle",
  stream: ORDERS,
  handlers: [on(OrderConfirmed, async () => {})],
});

function delivery(ctx: ConsumerContext, opts: { deliveryCount?: number; headers?: Record<string, string> } = {}) {
  const { m, settled } = fakeMessage({ subject: "t.orders.confirmed", streamSequence: 42, ...opts });
  const d: Delivery = {
    m,
    meta: { id: "ev-1", type: OrderConfirmed.type, source: "/test", time: new Date(), subject: "", traceparent: "" },
    handler: ctx.def.handlers[0]!,
    event: {},
    row: { consumer: ctx.def.name, eventId: "ev-1", eventType: OrderConfirmed.type, payloadHash: "h" },
    log: ctx.log,
  };
  return { d, settled };
}

const outcomes = async (ctx: ConsumerContext) =>
  (await ctx.metrics.consumed.get()).values.map((v) => `${v.labels.outcome} ${v.value}`);

describe("settleFailed", () => {
  test("a retryable failure is nak'ed with the backoff of its delivery, at once on the last one, its error recorded", async () => {
    const { ctx, recorded } = fakeConsumerContext(consumer, { env: { CONSUMER_BACKOFF_MS: "100,200" }, maxDeliver: 3 });
    const first = delivery(ctx);
    const second = delivery(ctx, { deliveryCount: 2 });
    const last = delivery(ctx, { deliveryCount: 3 });
    for (const { d } of [first, second, last]) await settleFailed(ctx, d, new Error("database went away"));
    expect([first.settled, second.settled, last.settled]).toEqual([["nak 100"], ["nak 200"], ["nak 0"]]);
    expect(recorded.get(`t_ORDERS.test-settle.42`)).toMatchObject({
      kind: "retry",
      deliveries: 3,
      error: `${OrderConfirmed.type} ev-1: database went away`,
    });
    expect(await outcomes(ctx)).toEqual(["retry 3"]);
  });

  test("an error that says it never succeeds is terminated with its reason, never nak'ed", async () => {
    const { ctx, recorded } = fakeConsumerContext(consumer);
    const poison = delivery(ctx);
    const refused = delivery(ctx);
    await settleFailed(ctx, poison.d, new PoisonMessage("no such order"));
    await settleFailed(ctx, refused.d, new ConnectError("bad amount", Code.InvalidArgument));
    expect(poison.settled).toEqual([`term ${OrderConfirmed.type} ev-1: PoisonMessage: no such order`]);
    expect(refused.settled).toHaveLength(1);
    expect(refused.settled[0]).toStartWith(`term ${OrderConfirmed.type} ev-1: ConnectError: `);
    expect([...recorded.values()].map((r) => r.kind)).toEqual(["terminated"]);
    expect(await outcomes(ctx)).toEqual(["poison 2"]);
  });
});

describe("settleHandled", () => {
  test("a fresh event is acked; its last error is cleared only when it had failed before", async () => {
    const { ctx, cleared } = fakeConsumerContext(consumer);
    const first = delivery(ctx);
    const again = delivery(ctx, { deliveryCount: 2 });
    await settleHandled(ctx, first.d, true);
    await settleHandled(ctx, again.d, true);
    expect([first.settled, again.settled]).toEqual([["ack"], ["ack"]]);
    expect(cleared).toEqual(["t_ORDERS.test-settle.42"]);
    expect(await outcomes(ctx)).toEqual(["handled 2"]);
  });

  test("a replayed dead letter is resolved once handled; a replay that is not the operator's is acked all the same", async () => {
    for (const resolves of [true, false]) {
      const { ctx, replays } = fakeConsumerContext(consumer, { resolves });
      const replayed = delivery(ctx, { headers: { [REPLAY_OF]: "7" } });
      const plain = delivery(ctx);
      await settleHandled(ctx, replayed.d, true);
      await settleHandled(ctx, plain.d, true);
      expect([replayed.settled, plain.settled]).toEqual([["ack"], ["ack"]]);
      expect(replays).toEqual(["test-settle"]);
    }
  });
});
