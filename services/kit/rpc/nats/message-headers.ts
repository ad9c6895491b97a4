import { MsgHdrsImpl, type MsgHdrs } from "@nats-io/transport-node";

/**
 * Connect metadata on NATS messages: request and response headers travel as NATS headers, names lower
 * case as HTTP/2 has them. What HTTP would say in its start line or by default is left out: a request or
 * answer without Content-Type is protobuf binary, an answer without rpc-status is a success (200), so the
 * common call carries only its timeout and an ordinary answer no header at all.
 */
export const STATUS_HEADER = "rpc-status";

/**
 * NATS headers from HTTP-style ones. Built from a record: the library's own append() canonicalises and
 * searches the keys on every call, a tenth of a fast call; Headers already validated names and values.
 */
export function toNatsHeaders(entries: Iterable<[string, string]>): MsgHdrs | undefined {
  const record: Record<string, string[]> = {};
  let any = false;
  for (const [k, v] of entries) {
    (record[k] ??= []).push(v);
    any = true;
  }
  return any ? MsgHdrsImpl.fromRecord(record) : undefined;
}

/** A caller's headers as entries, whichever shape it gave them in. */
export function* headerEntries(
  header: ConstructorParameters<typeof Headers>[0] | undefined,
): Iterable<[string, string]> {
  if (header === undefined) return;
  if (header instanceof Headers) yield* header;
  else if (Array.isArray(header)) for (const [k, v] of header) yield [k!.toLowerCase(), v!];
  else for (const k in header) yield [k.toLowerCase(), (header as Record<string, string>)[k]!];
}

export function fromNatsHeaders(h: MsgHdrs | undefined): Headers {
  const header = new Headers();
  if (h) for (const [k, values] of h) for (const v of values) header.append(k, v);
  return header;
}
