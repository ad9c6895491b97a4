import type { JsMsg } from "@nats-io/jetstream";
import type { Database } from "../../db/database";
import type { Logger } from "../../log";
import type { Span } from "../../tracing";
import type { EventMeta } from "../cloud-event-headers";
import type { EventHandler, HandlerContext } from "./event-consumer";
import type { InboxRow } from "./inbox";

/** A message that is an event this consumer handles, decoded and valid: what is left is to handle it. */
export interface Delivery {
  m: JsMsg;
  meta: Extract<EventMeta, { id: string }>;
  handler: EventHandler<any>;
  event: unknown;
  /** Its inbox row, with the hash of its type and payload (see payloadHash). */
  row: InboxRow;
  /** The consumer's log with the event's id, type, traceparent and deliveries. */
  log: Logger;
  /** Its process span, when tracing: a batch links them. */
  span?: Span;
}

/** What the handler is given: `tx` is the transaction that also writes the inbox row (the database for ownTransactions). */
export function handlerContext(d: Delivery, tx: Database<any>): HandlerContext<any> {
  return { tx, meta: d.meta, deliveryCount: d.m.info.deliveryCount, log: d.log };
}
