import type { EventConsumer } from "../events/consumer/event-consumer";
import { decodeMessage } from "../events/consumer/decode-message";
import { eventHeaders } from "../events/cloud-event-headers";
import { fakeConsumerContext, fakeMessage } from "./fake-consumer";

/**
 * Runs stored payload bytes through a consumer's own decode path (headers read, protobuf decoded, the
 * handler's validate), as if they had just arrived on its stream: the decoded event, or why the consumer
 * would have settled it instead (terminated, skipped, dead-lettered).
 *
 * @example
 *   const r = await decodeStoredEvent(paymentOutcomesConsumer(deps), "shop.payment.v1.PaymentProcessed", bytes);
 *   expect(r).toMatchObject({ event: { orderId } });
 */
export async function decodeStoredEvent(
  consumer: EventConsumer,
  type: string,
  data: Uint8Array,
): Promise<{ event: unknown } | { settled: string[] }> {
  const { ctx } = fakeConsumerContext(consumer);
  const declared = consumer.stream.events.find((e) => e.type === type);
  if (!declared) return { settled: [`${type} is not an event of ${consumer.stream.name}`] };
  const { m, settled } = fakeMessage({
    subject: ctx.names.subject(declared.subject),
    headers: eventHeaders({
      id: crypto.randomUUID(),
      type,
      source: "/stored",
      time: new Date(),
      subject: "stored",
      traceparent: "",
    }),
    data,
  });
  const delivery = await decodeMessage(ctx, m);
  return delivery && settled.length === 0 ? { event: delivery.event } : { settled };
}
