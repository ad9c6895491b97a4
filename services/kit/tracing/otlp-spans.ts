import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";

/**
 * Spans as an OTLP/HTTP receiver gets them (ExportTraceServiceRequest, protobuf or JSON), flattened to
 * what a reader of a trace needs. The protobuf side reads the wire by the field numbers of
 * opentelemetry/proto/trace/v1/trace.proto, skipping what it does not use.
 */
export interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  /** "" for a trace's root. */
  parentSpanId: string;
  name: string;
  /** 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  startNs: bigint;
  endNs: bigint;
  attributes: Record<string, unknown>;
  events: { name: string; attributes: Record<string, unknown> }[];
  links: { traceId: string; spanId: string; attributes: Record<string, unknown> }[];
  /** 0 unset, 1 ok, 2 error. */
  status: { code: number; message: string };
}

/** The spans of one export request, by its content type (application/x-protobuf or application/json). */
export function decodeSpans(body: Uint8Array, contentType: string): ReceivedSpan[] {
  return contentType.includes("json") ? fromJson(JSON.parse(new TextDecoder().decode(body))) : fromProtobuf(body);
}

type Fields = (field: number, wire: WireType, r: BinaryReader) => void;

function read(bytes: Uint8Array, onField: Fields): void {
  const r = new BinaryReader(bytes);
  while (r.pos < r.len) {
    const [field, wire] = r.tag();
    const before = r.pos;
    onField(field, wire, r);
    if (r.pos === before) r.skip(wire);
  }
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

function fromProtobuf(body: Uint8Array): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  read(body, (f, _w, r) => {
    if (f !== 1) return; // resource_spans
    let service = "";
    const own: ReceivedSpan[] = [];
    read(r.bytes(), (f, _w, r) => {
      if (f === 1)
        read(r.bytes(), (f, _w, r) => {
          if (f === 1) {
            const [k, v] = keyValue(r.bytes());
            if (k === "service.name") service = String(v);
          }
        });
      else if (f === 2)
        read(r.bytes(), (f, _w, r) => {
          if (f === 2) own.push(span(r.bytes()));
        });
    });
    for (const s of own) spans.push({ ...s, service });
  });
  return spans;
}

function span(bytes: Uint8Array): ReceivedSpan {
  const s: ReceivedSpan = {
    service: "",
    traceId: "",
    spanId: "",
    parentSpanId: "",
    name: "",
    kind: 0,
    startNs: 0n,
    endNs: 0n,
    attributes: {},
    events: [],
    links: [],
    status: { code: 0, message: "" },
  };
  read(bytes, (f, _w, r) => {
    if (f === 1) s.traceId = hex(r.bytes());
    else if (f === 2) s.spanId = hex(r.bytes());
    else if (f === 4) s.parentSpanId = hex(r.bytes());
    else if (f === 5) s.name = r.string();
    else if (f === 6) s.kind = r.int32();
    else if (f === 7) s.startNs = BigInt(r.fixed64());
    else if (f === 8) s.endNs = BigInt(r.fixed64());
    else if (f === 9) addKeyValue(s.attributes, r.bytes());
    else if (f === 11) {
      const e = { name: "", attributes: {} };
      read(r.bytes(), (f, _w, r) => {
        if (f === 2) e.name = r.string();
        else if (f === 3) addKeyValue(e.attributes, r.bytes());
      });
      s.events.push(e);
    } else if (f === 13) {
      const l = { traceId: "", spanId: "", attributes: {} };
      read(r.bytes(), (f, _w, r) => {
        if (f === 1) l.traceId = hex(r.bytes());
        else if (f === 2) l.spanId = hex(r.bytes());
        else if (f === 4) addKeyValue(l.attributes, r.bytes());
      });
      s.links.push(l);
    } else if (f === 15)
      read(r.bytes(), (f, _w, r) => {
        if (f === 2) s.status.message = r.string();
        else if (f === 3) s.status.code = r.int32();
      });
  });
  return s;
}

function addKeyValue(into: Record<string, unknown>, bytes: Uint8Array): void {
  const [k, v] = keyValue(bytes);
  into[k] = v;
}

function keyValue(bytes: Uint8Array): [string, unknown] {
  let key = "";
  let value: unknown;
  read(bytes, (f, _w, r) => {
    if (f === 1) key = r.string();
    else if (f === 2) value = anyValue(r.bytes());
  });
  return [key, value];
}

function anyValue(bytes: Uint8Array): unknown {
  let value: unknown;
  read(bytes, (f, _w, r) => {
    if (f === 1) value = r.string();
    else if (f === 2) value = r.bool();
    else if (f === 3) value = Number(r.int64());
    else if (f === 4) value = r.double();
    else if (f === 5) {
      const values: unknown[] = [];
      read(r.bytes(), (f, _w, r) => {
        if (f === 1) values.push(anyValue(r.bytes()));
      });
      value = values;
    }
  });
  return value;
}

interface JsonKeyValue {
  key: string;
  value: Record<string, unknown>;
}

function jsonValue(v: Record<string, unknown> | undefined): unknown {
  if (!v) return undefined;
  if ("stringValue" in v) return v.stringValue;
  if ("boolValue" in v) return v.boolValue;
  if ("intValue" in v) return Number(v.intValue);
  if ("doubleValue" in v) return v.doubleValue;
  if ("arrayValue" in v)
    return ((v.arrayValue as { values?: Record<string, unknown>[] }).values ?? []).map((x) => jsonValue(x));
  return undefined;
}

function jsonAttributes(list: JsonKeyValue[] | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, jsonValue(kv.value)]));
}

// The JSON encoding of OTLP (ids as hex strings, enums as numbers), as the OTLP/HTTP JSON exporters send it.
function fromJson(body: any): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  for (const rs of body.resourceSpans ?? []) {
    const service = String(jsonAttributes(rs.resource?.attributes)["service.name"] ?? "");
    for (const ss of rs.scopeSpans ?? [])
      for (const s of ss.spans ?? [])
        spans.push({
          service,
          traceId: s.traceId ?? "",
          spanId: s.spanId ?? "",
          parentSpanId: s.parentSpanId ?? "",
          name: s.name ?? "",
          kind: Number(s.kind ?? 0),
          startNs: BigInt(s.startTimeUnixNano ?? 0),
          endNs: BigInt(s.endTimeUnixNano ?? 0),
          attributes: jsonAttributes(s.attributes),
          events: (s.events ?? []).map((e: any) => ({ name: e.name ?? "", attributes: jsonAttributes(e.attributes) })),
          links: (s.links ?? []).map((l: any) => ({
            traceId: l.traceId ?? "",
            spanId: l.spanId ?? "",
            attributes: jsonAttributes(l.attributes),
          })),
          status: { code: Number(s.status?.code ?? 0), message: s.status?.message ?? "" },
        });
  }
  return spans;
}
