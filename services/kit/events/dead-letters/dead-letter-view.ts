import { fromBinary, toJson } from "@bufbuild/protobuf";
import { traceIdOf } from "../../tracing";
import { eventCatalogue, type EventStream } from "../topology/contract";
import type { DeadLetter } from "./dead-letter-queue";

/** A dead letter as an operator's tools list it (`cli dlq list --json`, the console). */
export function letterSummary(l: DeadLetter) {
  return {
    id: l.id,
    failedAt: l.failedAt.toISOString(),
    stream: l.stream,
    consumer: l.consumer,
    streamSeq: l.streamSeq,
    subject: l.subject,
    eventType: l.eventType,
    eventId: l.eventId,
    kind: l.kind,
    deliveries: l.deliveries,
    reason: l.reason,
    // The trace the event belongs to: its producer's, where its deliveries and the dead letter are spans.
    traceId: traceIdOf(l.headers.traceparent),
  };
}

export type LetterSummary = ReturnType<typeof letterSummary>;

/** One dead letter in full: its headers and its payload decoded by the producer's contract (`cli dlq show`, the console). */
export function letterDetail(l: DeadLetter, streams: readonly EventStream[]) {
  return { ...letterSummary(l), headers: l.headers, event: decodeLetter(l, streams) };
}

export type LetterDetail = ReturnType<typeof letterDetail>;

function decodeLetter(l: DeadLetter, streams: readonly EventStream[]): unknown {
  const type = eventCatalogue(streams).get(l.eventType);
  const bytes = () => Buffer.from(l.data).toString("base64");
  if (!type) return { undecoded: `unknown event type "${l.eventType}"`, base64: bytes() };
  try {
    return toJson(type.schema, fromBinary(type.schema, l.data));
  } catch (e) {
    return { undecoded: e instanceof Error ? e.message : String(e), base64: bytes() };
  }
}
