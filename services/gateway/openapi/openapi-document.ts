import { ScalarType, type DescEnum, type DescField, type DescMessage } from "@bufbuild/protobuf";
import { isWrapperDesc } from "@bufbuild/protobuf/wkt";
import type { Access } from "../domain/caller";
import type { HttpRoute } from "../transcoding/http-routes";
import { openApiPath } from "../transcoding/path-template";
import { isRequiredField, messageRuleText, ruleConstraints } from "./rule-constraints";

type Schema = Record<string, unknown>;
type Operation = Record<string, unknown>;

export interface OpenApiOptions {
  title: string;
  version: string;
  routes: readonly HttpRoute[];
  /** Hand-written operations (routes that are not transcoded), by path and lower-case method. */
  extraPaths?: Record<string, Record<string, Operation>>;
}

const ERROR_REF = { $ref: "#/components/schemas/Error" };

/** Security requirements per access rule; `[]` is "no credentials needed". */
export function securityFor(access: Access): Record<string, string[]>[] {
  if (access === "public") return [];
  if (access === "admin") return [{ adminApiKey: [] }];
  return [{ bearerAuth: [] }, { adminApiKey: [] }];
}

/** Content in JSON of this schema: of a request body or a response. */
export const jsonContent = (schema: unknown) => ({ "application/json": { schema } });

/** A response entry for an error status, in the gateway's error shape. */
export const errorResponseRef = (description: string) => ({ description, content: jsonContent(ERROR_REF) });

/** The request body of a hand-written route: a JSON object of these properties, every one of them required. */
export const jsonRequestBody = (properties: Record<string, unknown>) => ({
  required: true,
  content: jsonContent({ type: "object", properties, required: Object.keys(properties) }),
});

/**
 * OpenAPI 3.1 from the same descriptors the transcoder serves: a path per HTTP rule, path and query
 * parameters from the request fields, the body from the rule's body, schemas from the messages in
 * proto3 JSON terms (JSON names, enums as strings, 64-bit integers as strings), with the constraints of
 * their `buf.validate` rules (required, lengths, patterns, ranges), the very rules the services enforce.
 */
export function openApiDocument(opts: OpenApiOptions): Record<string, unknown> {
  const schemas: Record<string, Schema> = {
    Error: {
      type: "object",
      description: "Every error: a google.rpc.Code, its name, and what went wrong (naming the field for bad input).",
      properties: {
        code: { type: "integer", examples: [3] },
        status: { type: "string", examples: ["INVALID_ARGUMENT"] },
        message: { type: "string" },
      },
      required: ["code", "status", "message"],
    },
  };
  const components = new SchemaBuilder(schemas);
  const paths: Record<string, Record<string, Operation>> = {};

  // OpenAPI forbids two paths that differ only in their variables' names (GET /v1/products/{product_id}
  // and PUT /v1/products/{product.id}): such routes share the first path, their variables renamed.
  const pathByShape = new Map<string, { path: string; names: string[] }>();
  for (const route of opts.routes) {
    const { method, access } = route.exposed;
    const own = openApiPath(route.template);
    const shape = own.replace(/\{[^}]*\}/g, "{}");
    const shared = pathByShape.get(shape) ?? { path: own, names: [...route.pathFields.keys()] };
    pathByShape.set(shape, shared);
    const path = shared.path;
    const operation: Operation = {
      operationId: `${method.parent.name}_${method.name}`,
      tags: [method.parent.name],
      summary: `${method.parent.typeName}.${method.name}`,
      security: securityFor(access),
      parameters: [...pathParameters(route, components, shared.names), ...queryParameters(route, components)],
      responses: {
        "200": {
          description: "OK",
          content: jsonContent(
            route.responseBody
              ? components.field(method.output.fields.find((f) => f.name === route.responseBody)!)
              : components.ref(method.output),
          ),
        },
        "400": errorResponseRef("Bad input; the message names the field"),
        ...(access !== "public"
          ? { "401": errorResponseRef("No or bad credentials"), "403": errorResponseRef("Not allowed for this caller") }
          : {}),
        "404": errorResponseRef("Not found"),
        ...(route.body ? { "413": errorResponseRef("Body over the size limit") } : {}),
        "429": errorResponseRef("Rate limit exceeded; see Retry-After"),
        default: errorResponseRef("Any other error, in the same shape"),
      },
    };
    if (route.body)
      operation.requestBody = {
        required: route.body !== "*",
        content: jsonContent(bodySchema(route, components)),
      };
    (paths[path] ??= {})[route.httpMethod.toLowerCase()] = operation;
  }
  for (const [path, ops] of Object.entries(opts.extraPaths ?? {})) Object.assign((paths[path] ??= {}), ops);

  return {
    openapi: "3.1.0",
    info: {
      title: opts.title,
      version: opts.version,
      description:
        "REST/JSON transcoded from the google.api.http annotations of the shop's Connect services. Errors are " +
        '{"code","status","message"} with google.rpc.Code semantics. Rate limits are per client and per gateway instance.',
    },
    paths: Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b))),
    components: {
      schemas,
      securitySchemes: {
        bearerAuth: {
          type: "http",
          scheme: "bearer",
          bearerFormat: "JWT",
          description:
            "A customer token (HS256; sub = customer id, role = customer) from POST /v1/customers or POST /v1/tokens",
        },
        adminApiKey: {
          type: "apiKey",
          in: "header",
          name: "X-API-Key",
          description: "The admin API key (GATEWAY_ADMIN_API_KEY)",
        },
      },
    },
  };
}

function pathParameters(route: HttpRoute, components: SchemaBuilder, names: string[]) {
  return [...route.pathFields].map(([field, chain], i) => ({
    name: names[i] ?? field,
    in: "path",
    required: true,
    schema: components.field(chain.at(-1)!, { single: true }),
    ...(names[i] && names[i] !== field ? { description: `sets ${field}` } : {}),
  }));
}

/** Fields not bound by the path or the body, flattened to dotted names (`filter.status`). */
function queryParameters(route: HttpRoute, components: SchemaBuilder) {
  if (route.body === "*") return [];
  const out: Record<string, unknown>[] = [];
  const bound = [...route.pathFields.keys()];
  const walk = (message: DescMessage, prefix: string, depth: number, seen: Set<string>) => {
    for (const field of message.fields) {
      const name = prefix + field.name;
      if (!prefix && field.name === route.body) continue;
      if (bound.includes(name)) continue;
      if (field.fieldKind === "map") continue;
      const msg =
        field.fieldKind === "message" || (field.fieldKind === "list" && field.listKind === "message")
          ? field.message
          : undefined;
      if (msg && !components.isStringLike(msg)) {
        if (field.fieldKind === "message" && depth < 3 && !seen.has(msg.typeName))
          walk(msg, `${name}.`, depth + 1, new Set([...seen, msg.typeName]));
        continue;
      }
      const schema = components.field(field);
      out.push({
        name,
        in: "query",
        required: !prefix && isRequiredField(field),
        schema,
        ...(field.fieldKind === "list" ? { style: "form", explode: true } : {}),
      });
    }
  };
  walk(route.exposed.method.input, "", 0, new Set([route.exposed.method.input.typeName]));
  return out;
}

function bodySchema(route: HttpRoute, components: SchemaBuilder): Schema {
  const input = route.exposed.method.input;
  if (route.body !== "*") return bodyFieldSchema(route, components);
  const topBound = new Set([...route.pathFields.keys()].filter((k) => !k.includes(".")));
  if (topBound.size === 0) return components.ref(input);
  // The path carries some fields; the body is the rest of the message.
  const full = components.messageSchema(input);
  const inPath = (json: string) => input.fields.some((f) => f.jsonName === json && topBound.has(f.name));
  const properties = Object.fromEntries(
    Object.entries(full.properties as Record<string, Schema>).filter(([json]) => !inPath(json)),
  );
  const required = (full.required as string[] | undefined)?.filter((json) => !inPath(json));
  const { required: _, ...rest } = full;
  return { ...rest, properties, ...(required?.length ? { required } : {}) };
}

/**
 * The schema of the one field a rule's body names. When the path carries some of that message's fields
 * (PUT /v1/products/{product.id}, body "product"), the body need not repeat them: its schema is the
 * message's, without them among the required.
 */
function bodyFieldSchema(route: HttpRoute, components: SchemaBuilder): Schema {
  const field = route.exposed.method.input.fields.find((f) => f.name === route.body)!;
  const prefix = `${route.body}.`;
  const bound = [...route.pathFields.keys()].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length));
  if (field.fieldKind !== "message" || bound.length === 0) return components.field(field);
  const boundJson = field.message.fields.filter((f) => bound.includes(f.name)).map((f) => f.jsonName);
  const { required, ...rest } = components.messageSchema(field.message);
  const stillRequired = ((required as string[] | undefined) ?? []).filter((json) => !boundJson.includes(json));
  return { ...rest, ...(stillRequired.length ? { required: stillRequired } : {}) };
}

/** Message and enum schemas under components, referenced by full proto name. */
class SchemaBuilder {
  constructor(private readonly schemas: Record<string, Schema>) {}

  ref(message: DescMessage): Schema {
    const special = this.wellKnown(message);
    if (special) return special;
    if (!this.schemas[message.typeName]) {
      this.schemas[message.typeName] = {}; // placeholder first: messages may refer to themselves
      this.schemas[message.typeName] = this.messageSchema(message);
    }
    return { $ref: `#/components/schemas/${message.typeName}` };
  }

  messageSchema(message: DescMessage): Schema {
    const properties: Record<string, Schema> = {};
    for (const f of message.fields) properties[f.jsonName] = this.field(f);
    const required = message.fields.filter(isRequiredField).map((f) => f.jsonName);
    const rules = messageRuleText(message);
    return {
      type: "object",
      title: message.name,
      ...(rules ? { description: rules } : {}),
      properties,
      ...(required.length ? { required } : {}),
    };
  }

  enumRef(e: DescEnum): Schema {
    this.schemas[e.typeName] ??= { type: "string", title: e.name, enum: e.values.map((v) => v.name) };
    return { $ref: `#/components/schemas/${e.typeName}` };
  }

  /** A field's schema with its rules' constraints; `single` for a path parameter (one value even if repeated). */
  field(f: DescField, { single = false } = {}): Schema {
    const schema = this.fieldType(f, single);
    if (single && f.fieldKind === "list") return schema;
    const constraints = ruleConstraints(f);
    return Object.keys(constraints).length ? { ...schema, ...constraints } : schema;
  }

  private fieldType(f: DescField, single: boolean): Schema {
    switch (f.fieldKind) {
      case "scalar":
        return scalar(f.scalar);
      case "enum":
        return this.enumRef(f.enum);
      case "message":
        return this.ref(f.message);
      case "list": {
        const item =
          f.listKind === "scalar"
            ? scalar(f.scalar)
            : f.listKind === "enum"
              ? this.enumRef(f.enum)
              : this.ref(f.message);
        return single ? item : { type: "array", items: item };
      }
      case "map": {
        const value =
          f.mapKind === "scalar" ? scalar(f.scalar) : f.mapKind === "enum" ? this.enumRef(f.enum) : this.ref(f.message);
        return { type: "object", additionalProperties: value };
      }
    }
  }

  /** Well-known types have a JSON form of their own. */
  wellKnown(m: DescMessage): Schema | undefined {
    if (isWrapperDesc(m))
      return {
        ...scalar(m.fields[0]!.scalar as ScalarType),
        type: [scalar(m.fields[0]!.scalar as ScalarType).type, "null"],
      };
    switch (m.typeName) {
      case "google.protobuf.Timestamp":
        return { type: "string", format: "date-time" };
      case "google.protobuf.Duration":
        return { type: "string", pattern: "^-?\\d+(\\.\\d+)?s$", examples: ["1.5s"] };
      case "google.protobuf.FieldMask":
        return { type: "string", description: "comma-separated field paths" };
      case "google.protobuf.Struct":
      case "google.protobuf.Empty":
        return { type: "object" };
      case "google.protobuf.Value":
        return {};
      case "google.protobuf.ListValue":
        return { type: "array" };
      case "google.protobuf.Any":
        return { type: "object", properties: { "@type": { type: "string" } }, required: ["@type"] };
    }
    return undefined;
  }

  isStringLike(m: DescMessage): boolean {
    const s = this.wellKnown(m);
    return !!s && (s.type === "string" || (Array.isArray(s.type) && s.type[0] !== "object"));
  }
}

function scalar(t: ScalarType): Schema & { type: string } {
  switch (t) {
    case ScalarType.STRING:
      return { type: "string" };
    case ScalarType.BOOL:
      return { type: "boolean" };
    case ScalarType.BYTES:
      return { type: "string", contentEncoding: "base64" };
    case ScalarType.DOUBLE:
      return { type: "number", format: "double" };
    case ScalarType.FLOAT:
      return { type: "number", format: "float" };
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return { type: "integer", format: "int32" };
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return { type: "integer", format: "uint32", minimum: 0 };
    // proto3 JSON writes 64-bit integers as strings: a double cannot hold them exactly.
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return { type: "string", format: "int64", pattern: "^-?\\d+$" };
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return { type: "string", format: "uint64", pattern: "^\\d+$" };
  }
}
