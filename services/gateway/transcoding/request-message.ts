import {
  fromJson,
  ScalarType,
  type DescField,
  type DescMessage,
  type JsonObject,
  type JsonValue,
  type Message,
} from "@bufbuild/protobuf";
import { hasCustomJsonRepresentation, isWrapperDesc } from "@bufbuild/protobuf/wkt";

/** Bad input from the client: answered 400 INVALID_ARGUMENT, the backend is not called. */
export class RequestProblem extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RequestProblem";
  }
}

/** A field by its proto name (`page_size`) or its JSON name (`pageSize`); both are accepted. */
export function findField(message: DescMessage, name: string): DescField | undefined {
  return message.fields.find((f) => f.name === name) ?? message.fields.find((f) => f.jsonName === name);
}

/**
 * Resolves a dotted path to its chain of fields; every step but the last must be a singular message.
 * Answers a reason instead when the path does not name a field.
 */
export function resolveFieldPath(message: DescMessage, path: string[]): DescField[] | string {
  const chain: DescField[] = [];
  let current: DescMessage | undefined = message;
  for (const [i, name] of path.entries()) {
    const field: DescField | undefined = current && findField(current, name);
    const shown = path.slice(0, i + 1).join(".");
    if (!field) return `${shown} is not a field of ${message.typeName}`;
    chain.push(field);
    if (i < path.length - 1) {
      if (field.fieldKind !== "message") return `${shown} is not a message, so ${path.join(".")} names nothing`;
      current = field.message;
    }
  }
  return chain;
}

export const protoPath = (chain: DescField[]) => chain.map((f) => f.name).join(".");

/** The parts of an HTTP request that map onto the request message. */
export interface HttpInput {
  /** Path variables by field path, e.g. { "product.id": "sku-mug" }. */
  bindings: Record<string, string>;
  query: URLSearchParams;
  /** The raw body, "" when there is none. */
  body: string;
}

/** How a method's HTTP rule maps a request: the body ("" none, "*" all, or one field). */
export interface RequestMapping {
  input: DescMessage;
  body: string;
}

const STRING_JSON_WKT = new Set(["google.protobuf.Timestamp", "google.protobuf.Duration", "google.protobuf.FieldMask"]);

/**
 * Builds the request message from path variables, query parameters and the JSON body, as
 * google.api.http prescribes: path variables win over the body, query parameters fill what neither
 * the path nor the body holds (none when the body is "*"). Names may be proto (`page_size`) or JSON
 * (`pageSize`). Anything malformed or unknown is a RequestProblem naming the field.
 */
export function requestMessage(mapping: RequestMapping, http: HttpInput): Message {
  const { input } = mapping;
  const json: JsonObject = {};
  const bodyField = mapping.body && mapping.body !== "*" ? findField(input, mapping.body) : undefined;
  if (mapping.body) {
    const parsed = parseBody(http.body);
    if (mapping.body === "*") {
      if (parsed !== undefined) {
        if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
          throw new RequestProblem("the body must be a JSON object");
        Object.assign(json, parsed);
      }
    } else if (parsed !== undefined) {
      json[bodyField!.name] = parsed;
    }
  }

  const bound = Object.keys(http.bindings);
  const seen = new Map<string, string>();
  for (const name of new Set(http.query.keys())) {
    if (mapping.body === "*")
      throw new RequestProblem(`${name}: query parameters are not accepted here, every field goes in the body`);
    const chain = resolveFieldPath(input, name.split("."));
    if (typeof chain === "string") throw new RequestProblem(`${name}: unknown query parameter (${chain})`);
    const path = protoPath(chain);
    const other = seen.get(path);
    if (other !== undefined) throw new RequestProblem(`${path}: given both as ${other} and as ${name}; use one name`);
    seen.set(path, name);
    if (bound.some((b) => b === path || path.startsWith(`${b}.`) || b.startsWith(`${path}.`)))
      throw new RequestProblem(`${path}: set by the URL path, not a query parameter`);
    if (bodyField && chain[0] === bodyField)
      throw new RequestProblem(`${path}: set by the body, not a query parameter`);
    setAt(json, chain, stringsToJson(chain.at(-1)!, path, http.query.getAll(name)));
  }
  for (const [name, value] of Object.entries(http.bindings)) {
    const chain = resolveFieldPath(input, name.split("."));
    if (typeof chain === "string") throw new Error(chain); // checked when the routes were built
    setAt(json, chain, stringsToJson(chain.at(-1)!, name, [value]));
  }

  try {
    return fromJson(input, json);
  } catch (e) {
    throw new RequestProblem(locateProblem(input, json, "") ?? reason(e));
  }
}

function parseBody(text: string): JsonValue | undefined {
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text) as JsonValue;
  } catch (e) {
    throw new RequestProblem(`the body is not valid JSON: ${e instanceof Error ? e.message : e}`);
  }
}

/** Puts `value` at a field path, replacing whatever either spelling of those fields held. */
function setAt(json: JsonObject, chain: DescField[], value: JsonValue) {
  let obj = json;
  for (const [i, field] of chain.entries()) {
    const existing = obj[field.name] ?? obj[field.jsonName];
    delete obj[field.jsonName];
    delete obj[field.name];
    if (i === chain.length - 1) {
      obj[field.name] = value;
      return;
    }
    const next: JsonObject = existing && typeof existing === "object" && !Array.isArray(existing) ? existing : {};
    obj[field.name] = next;
    obj = next;
  }
}

/** Path and query values are strings; this gives them the JSON shape their field expects. */
function stringsToJson(field: DescField, path: string, values: string[]): JsonValue {
  if (field.fieldKind === "list") {
    if (field.listKind === "message" && !isStringJsonMessage(field.message))
      throw new RequestProblem(`${path}: a list of messages cannot be set from the URL`);
    return values.map((v) =>
      field.listKind === "scalar"
        ? scalarJson(field.scalar, v)
        : field.listKind === "enum"
          ? enumJson(v)
          : messageJson(field.message!, path, v),
    );
  }
  if (field.fieldKind === "map") throw new RequestProblem(`${path}: a map cannot be set from the URL`);
  if (values.length > 1) throw new RequestProblem(`${path}: given ${values.length} times but it is not repeated`);
  const v = values[0]!;
  if (field.fieldKind === "scalar") return scalarJson(field.scalar, v);
  if (field.fieldKind === "enum") return enumJson(v);
  return messageJson(field.message, path, v);
}

function scalarJson(type: ScalarType, v: string): JsonValue {
  // Numbers stay strings: proto3 JSON accepts "12" for every numeric type, and fromJson checks them.
  if (type === ScalarType.BOOL) return v === "true" ? true : v === "false" ? false : v;
  return v;
}

const enumJson = (v: string): JsonValue => (/^-?\d+$/.test(v) ? Number(v) : v);

function isStringJsonMessage(m: DescMessage | undefined) {
  return !!m && (STRING_JSON_WKT.has(m.typeName) || isWrapperDesc(m));
}

function messageJson(message: DescMessage, path: string, v: string): JsonValue {
  if (STRING_JSON_WKT.has(message.typeName)) return v;
  if (isWrapperDesc(message)) return scalarJson(message.fields[0]!.scalar as ScalarType, v);
  throw new RequestProblem(`${path}: a message cannot be set from the URL; set its fields (${path}.<field>)`);
}

/** The library's reason without its preamble ("cannot decode field x.y.Z.f from JSON: "). */
function reason(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  const badEnum = /^cannot decode enum (\S+) from JSON: (.*)$/.exec(message);
  if (badEnum) return `${badEnum[2]} is not a value of ${badEnum[1]}`;
  return message.replace(/^cannot decode \w+ \S+ from JSON: /, "");
}

/** Messages whose JSON is their fields (not a Timestamp string, say): bad values inside get a path. */
const hasFields = (m: DescMessage) => !hasCustomJsonRepresentation(m);

/**
 * fromJson says which field of which message type failed, not where in the request. This walks the
 * JSON to find the first bad value and names it by its path (`items[0].quantity`), letting fromJson
 * judge each value on its own.
 */
function locateProblem(message: DescMessage, json: JsonValue, prefix: string): string | undefined {
  if (typeof json !== "object" || json === null || Array.isArray(json)) return undefined;
  const fieldsSeen = new Set<DescField>();
  const oneofsSeen = new Map<string, DescField>();
  for (const [key, value] of Object.entries(json)) {
    const field = findField(message, key);
    if (!field) return `${prefix}${key}: unknown field`;
    const path = `${prefix}${field.name}`;
    if (fieldsSeen.has(field)) return `${path}: given twice (as ${field.name} and ${field.jsonName})`;
    fieldsSeen.add(field);
    if (field.oneof && value !== null) {
      const other = oneofsSeen.get(field.oneof.name);
      if (other) return `${path}: only one of ${other.name} and ${field.name} may be set`;
      oneofsSeen.set(field.oneof.name, field);
    }
    const alone = tryJson(message, { [key]: value });
    if (alone === undefined) continue;
    if (field.fieldKind === "message" && hasFields(field.message)) {
      const inner = locateProblem(field.message, value, `${path}.`);
      if (inner) return inner;
    }
    if (field.fieldKind === "list" && Array.isArray(value)) {
      for (const [i, item] of value.entries()) {
        if (tryJson(message, { [key]: [item] }) === undefined) continue;
        if (field.listKind === "message" && hasFields(field.message)) {
          const inner = locateProblem(field.message, item, `${path}[${i}].`);
          if (inner) return inner;
        }
        return `${path}[${i}]: ${tryJson(message, { [key]: [item] })}`;
      }
    }
    if (field.fieldKind === "map" && typeof value === "object" && value !== null && !Array.isArray(value)) {
      for (const [k, item] of Object.entries(value)) {
        const problem = tryJson(message, { [key]: { [k]: item } });
        if (problem === undefined) continue;
        if (field.mapKind === "message" && hasFields(field.message)) {
          const inner = locateProblem(field.message, item, `${path}[${JSON.stringify(k)}].`);
          if (inner) return inner;
        }
        return `${path}[${JSON.stringify(k)}]: ${problem}`;
      }
    }
    return `${path}: ${alone}`;
  }
  return undefined;
}

/** undefined when `json` decodes, else why not. */
function tryJson(message: DescMessage, json: JsonObject): string | undefined {
  try {
    fromJson(message, json);
    return undefined;
  } catch (e) {
    return reason(e);
  }
}
