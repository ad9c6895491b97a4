/**
 * google.api.http path templates (see google/api/http.proto):
 *
 *     Template = "/" Segments [ Verb ] ;
 *     Segments = Segment { "/" Segment } ;
 *     Segment  = "*" | "**" | LITERAL | Variable ;
 *     Variable = "{" FieldPath [ "=" Segments ] "}" ;
 *     Verb     = ":" LITERAL ;
 *
 * `{order_id}` is `{order_id=*}`: one segment, percent-decoded. `**` takes the rest of the path (zero or
 * more segments) and keeps an encoded "/" (%2F) as it is, as the spec asks for multi-segment variables.
 *
 * @example
 * const t = parsePathTemplate("/v1/orders/{order_id}:confirm");
 * matchPath(t, "/v1/orders/o-1:confirm"); // { order_id: "o-1" }
 */
export type Segment = { kind: "literal"; value: string } | { kind: "one" } | { kind: "rest" };

export interface PathVariable {
  /** Field names as written in the template, e.g. ["product", "id"]. */
  fieldPath: string[];
  /** Index of its first segment, and one past its last (for a `**` variable, the end of the path). */
  start: number;
  end: number;
}

export interface PathTemplate {
  readonly source: string;
  readonly segments: Segment[];
  readonly variables: PathVariable[];
  readonly verb?: string;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

export class PathTemplateError extends Error {
  constructor(template: string, why: string) {
    super(`path template ${JSON.stringify(template)}: ${why}`);
    this.name = "PathTemplateError";
  }
}

export function parsePathTemplate(source: string): PathTemplate {
  const fail = (why: string): never => {
    throw new PathTemplateError(source, why);
  };
  if (!source.startsWith("/")) fail("must start with /");
  const segments: Segment[] = [];
  const variables: PathVariable[] = [];
  let verb: string | undefined;
  let i = 1;

  const literal = (stop: RegExp) => {
    const from = i;
    while (i < source.length && !stop.test(source[i]!)) i++;
    return source.slice(from, i);
  };
  const segment = (insideVariable: boolean) => {
    if (source.startsWith("**", i)) {
      i += 2;
      segments.push({ kind: "rest" });
    } else if (source[i] === "*") {
      i += 1;
      segments.push({ kind: "one" });
    } else {
      const value = literal(insideVariable ? /[/}]/ : /[/:{}]/);
      if (!value) fail(`empty segment at ${i}`);
      segments.push({ kind: "literal", value });
    }
  };

  for (;;) {
    if (source[i] === "{") {
      i += 1;
      const path = literal(/[=}]/);
      const fieldPath = path.split(".");
      if (!fieldPath.every((p) => IDENT.test(p))) fail(`bad field path ${JSON.stringify(path)}`);
      const start = segments.length;
      if (source[i] === "=") {
        i += 1;
        for (;;) {
          segment(true);
          if (source[i] !== "/") break;
          i += 1;
        }
      } else {
        segments.push({ kind: "one" });
      }
      if (source[i] !== "}") fail(`unclosed variable {${path}`);
      i += 1;
      if (variables.some((v) => v.fieldPath.join(".") === path)) fail(`${path} bound twice`);
      variables.push({ fieldPath, start, end: segments.length });
    } else {
      segment(false);
    }
    if (i >= source.length) break;
    if (source[i] === ":") {
      i += 1;
      verb = literal(/[/{}:]/);
      if (!verb || i < source.length) fail("a verb must be one literal at the end");
      break;
    }
    if (source[i] !== "/") fail(`unexpected ${JSON.stringify(source[i])} at ${i}`);
    i += 1;
  }
  const restAt = segments.findIndex((s) => s.kind === "rest");
  if (restAt >= 0 && restAt !== segments.length - 1) fail("** must be the last segment");
  return { source, segments, variables, verb };
}

/**
 * Matches a request path (as sent, still percent-encoded) against a template. Answers the variables'
 * values by field path ("product.id"), or undefined when the path does not match.
 */
export function matchPath(template: PathTemplate, rawPath: string): Record<string, string> | undefined {
  let path = rawPath;
  if (template.verb !== undefined) {
    const suffix = `:${template.verb}`;
    if (!path.endsWith(suffix)) return undefined;
    path = path.slice(0, -suffix.length);
  }
  if (!path.startsWith("/")) return undefined;
  const parts = path.slice(1).split("/");
  const { segments } = template;
  const hasRest = segments.at(-1)?.kind === "rest";
  if (hasRest ? parts.length < segments.length - 1 : parts.length !== segments.length) return undefined;
  for (let s = 0; s < segments.length; s++) {
    const seg = segments[s]!;
    if (seg.kind === "rest") break;
    const part = parts[s]!;
    if (part === "") return undefined;
    if (seg.kind === "literal" && part !== seg.value) return undefined;
  }
  const bindings: Record<string, string> = {};
  try {
    for (const v of template.variables) {
      const end = segments[v.end - 1]?.kind === "rest" ? parts.length : v.end;
      const taken = parts.slice(v.start, end);
      bindings[v.fieldPath.join(".")] =
        taken.length === 1 && end === v.start + 1 && segments[v.start]!.kind !== "rest"
          ? decodeURIComponent(taken[0]!)
          : taken.map((p) => decodeURIComponent(p.replace(/%2F/gi, "%252F"))).join("/");
    }
  } catch {
    return undefined; // malformed percent-encoding: no route can have meant it
  }
  return bindings;
}

/** For ordering candidates: literal segments and a verb make a template more specific. */
export function specificity(template: PathTemplate): number {
  let score = 0;
  for (const s of template.segments) score += s.kind === "literal" ? 100 : s.kind === "one" ? 10 : 0;
  return score + (template.verb !== undefined ? 1000 : 0);
}

/** The template as an OpenAPI path: `{product.id}` stays, `{name=shelves/*}` becomes `{name}`. */
export function openApiPath(template: PathTemplate): string {
  const out: string[] = [];
  for (let s = 0; s < template.segments.length; s++) {
    const v = template.variables.find((x) => x.start === s);
    if (v) {
      out.push(`{${v.fieldPath.join(".")}}`);
      s = v.end - 1;
      continue;
    }
    const seg = template.segments[s]!;
    out.push(seg.kind === "literal" ? seg.value : seg.kind === "one" ? "*" : "**");
  }
  return "/" + out.join("/") + (template.verb !== undefined ? `:${template.verb}` : "");
}
