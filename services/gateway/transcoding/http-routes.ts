import { getOption, type DescField, type DescService } from "@bufbuild/protobuf";
import { http } from "../../contracts/gen/google/api/annotations_pb";
import type { HttpRule } from "../../contracts/gen/google/api/http_pb";
import type { ExposedMethod } from "../domain/exposed-methods";
import { matchPath, parsePathTemplate, specificity, type PathTemplate } from "./path-template";
import { findField, protoPath, resolveFieldPath } from "./request-message";

/** One HTTP binding of an exposed RPC, read from its google.api.http annotation. */
export interface HttpRoute {
  /** GET, POST, PUT, PATCH, DELETE, or a custom method. */
  httpMethod: string;
  template: PathTemplate;
  /** "" (no body), "*" (the whole message) or a top-level field name. */
  body: string;
  /** "" (the whole response) or a top-level field of the response. */
  responseBody: string;
  exposed: ExposedMethod;
  /** Where the RPC is served: the proto package's domain (shop.order.v1 → "order"). */
  backend: string;
  /** The path variables' fields, by their proto path ("product.id"). */
  pathFields: Map<string, DescField[]>;
}

export class HttpRuleError extends Error {
  constructor(method: string, why: string) {
    super(`${method}: google.api.http: ${why}`);
    this.name = "HttpRuleError";
  }
}

/** The service name a package is served under: the segment before its version (shop.order.v1 → order). */
export function backendName(service: DescService): string {
  const parts = service.file.proto.package.split(".");
  const version = parts.findIndex((p) => /^v\d+(alpha\d*|beta\d*)?$/.test(p));
  const name = version > 0 ? parts[version - 1] : parts.at(-1);
  if (!name) throw new Error(`${service.typeName}: no package to name its service after`);
  return name;
}

/**
 * The routes of the exposed methods, from their annotations (and additional_bindings). Fails at start
 * on a method without an annotation or with a rule that names no field, so a broken contract never
 * reaches a client.
 */
export function httpRoutes(exposed: readonly ExposedMethod[]): HttpRoute[] {
  const routes: HttpRoute[] = [];
  for (const e of exposed) {
    const m = e.method;
    const name = `${m.parent.typeName}.${m.name}`;
    const rule = getOption(m, http);
    if (rule.pattern.case === undefined) throw new HttpRuleError(name, "the method has no HTTP rule");
    for (const r of [rule, ...rule.additionalBindings]) routes.push(route(e, name, r));
  }
  return routes;
}

function route(exposed: ExposedMethod, name: string, rule: HttpRule): HttpRoute {
  const { method } = exposed;
  const fail = (why: string): never => {
    throw new HttpRuleError(name, why);
  };
  let httpMethod: string;
  let path: string;
  switch (rule.pattern.case) {
    case "get":
    case "put":
    case "post":
    case "delete":
    case "patch":
      httpMethod = rule.pattern.case.toUpperCase();
      path = rule.pattern.value;
      break;
    case "custom":
      httpMethod = rule.pattern.value.kind.toUpperCase();
      path = rule.pattern.value.path;
      break;
    default:
      return fail("no pattern");
  }
  let template: PathTemplate;
  try {
    template = parsePathTemplate(path);
  } catch (e) {
    return fail(e instanceof Error ? e.message : String(e));
  }
  const pathFields = new Map<string, DescField[]>();
  for (const v of template.variables) {
    const chain = resolveFieldPath(method.input, v.fieldPath);
    if (typeof chain === "string") fail(`path variable {${v.fieldPath.join(".")}}: ${chain}`);
    const leaf = (chain as DescField[]).at(-1)!;
    if (leaf.fieldKind !== "scalar" && leaf.fieldKind !== "enum")
      fail(`path variable {${v.fieldPath.join(".")}} must be a scalar or enum field`);
    if (protoPath(chain as DescField[]) !== v.fieldPath.join("."))
      fail(`path variable {${v.fieldPath.join(".")}} must use proto field names`);
    pathFields.set(protoPath(chain as DescField[]), chain as DescField[]);
  }
  if (rule.body && rule.body !== "*") {
    const field = findField(method.input, rule.body);
    if (!field || field.name !== rule.body) fail(`body "${rule.body}" is not a field of ${method.input.typeName}`);
    if ([...pathFields.keys()].includes(rule.body)) fail(`body "${rule.body}" is also bound by the path`);
  }
  if (rule.responseBody && !method.output.fields.some((f) => f.name === rule.responseBody))
    fail(`response_body "${rule.responseBody}" is not a field of ${method.output.typeName}`);
  if (rule.body && httpMethod === "GET") fail("a GET has no body");
  return {
    httpMethod,
    template,
    body: rule.body,
    responseBody: rule.responseBody,
    exposed,
    backend: backendName(method.parent),
    pathFields,
  };
}

export type RouteMatch =
  | { kind: "found"; route: HttpRoute; bindings: Record<string, string> }
  /** The path is known but not for this HTTP method. */
  | { kind: "method-not-allowed"; allowed: string[] }
  | { kind: "none" };

/** Finds the route of a request; among templates matching the same path the most specific wins. */
export class RouteTable {
  private readonly routes: HttpRoute[];

  constructor(routes: HttpRoute[]) {
    this.routes = [...routes].sort((a, b) => specificity(b.template) - specificity(a.template));
    const seen = new Map<string, string>();
    for (const r of this.routes) {
      const key = `${r.httpMethod} ${r.template.source.replace(/\{[^}]*\}/g, "{}")}`;
      const other = seen.get(key);
      const name = `${r.exposed.method.parent.typeName}.${r.exposed.method.name}`;
      if (other && other !== name)
        throw new HttpRuleError(name, `${r.httpMethod} ${r.template.source} is also bound to ${other}`);
      seen.set(key, name);
    }
  }

  all(): readonly HttpRoute[] {
    return this.routes;
  }

  match(httpMethod: string, rawPath: string): RouteMatch {
    const allowed = new Set<string>();
    for (const route of this.routes) {
      const bindings = matchPath(route.template, rawPath);
      if (!bindings) continue;
      if (route.httpMethod === httpMethod) return { kind: "found", route, bindings };
      allowed.add(route.httpMethod);
    }
    return allowed.size ? { kind: "method-not-allowed", allowed: [...allowed] } : { kind: "none" };
  }
}
