import { create, toBinary, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import type { JetStreamClient, PubAck } from "@nats-io/jetstream";
import { eventHeaders } from "../cloud-event-headers";
import { eventTraceparent } from "../event-spans";
import type { EventType } from "../topology/contract";
import type { EventNames } from "../topology/streams";

/**
 * Publishes one typed event straight to JetStream, with its CloudEvents headers and `Nats-Msg-Id` =
 * event id. For state changes use the outbox (writeEvent) instead: this is for what has no database
 * transaction to join (tools, tests).
 *
 * @example
 *   await publishEvent(js, names, CustomerRegistered, { customer }, { source: "/shop/seed" });
 */
export async function publishEvent<D extends DescMessage>(
  js: JetStreamClient,
  names: EventNames,
  type: EventType<D>,
  message: MessageInitShape<D>,
  opts: { source: string; id?: string; entityId?: string; time?: Date; traceparent?: string },
): Promise<PubAck & { id: string }> {
  const id = opts.id ?? crypto.randomUUID();
  const headers = eventHeaders({
    id,
    type: type.type,
    source: opts.source,
    time: opts.time ?? new Date(),
    subject: opts.entityId ?? "",
    traceparent: opts.traceparent || eventTraceparent(type.subject, id),
  });
  const ack = await js.publish(names.subject(type.subject), toBinary(type.schema, create(type.schema, message)), {
    headers,
    msgID: id,
  });
  return Object.assign(ack, { id });
}
