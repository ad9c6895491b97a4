import { getOption, hasOption, type DescField, type Message } from "@bufbuild/protobuf";
import type { Violation } from "@bufbuild/protovalidate";
import { field as fieldRulesExtension } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";

/** One broken rule: the field's path as proto names it ("items[0].quantity"; "" for the message itself). */
export interface FieldViolation {
  field: string;
  /** What is wrong, in the platform's words: "is required", "must be at most 1000". */
  description: string;
  /** protovalidate's rule id: "required", "int32.gt_lte", or a CEL rule's own id. */
  ruleId: string;
  /** protovalidate's violation, for the error details. */
  violation: Violation;
}

/**
 * A protovalidate violation in the platform's words, naming the field by its proto path. The standard
 * rules say it their way ("must be greater than 0 and less than or equal to 1000" for a quantity of 0);
 * the services have always said which bound was broken ("must be positive"), so the bound is read from the
 * rule and the value from the message. CEL rules of the protos speak for themselves (their `message`).
 */
export function violationText(v: Violation, message: Message): FieldViolation {
  const field = pathText(v);
  const value = valueAt(message, v);
  const rules = ruleValues(v);
  return { field, description: describe(v, value, rules) ?? v.message, ruleId: v.ruleId, violation: v };
}

/** "items[0].product_id": proto field names, list indexes and map keys in brackets. */
function pathText(v: Violation): string {
  let out = "";
  for (const p of v.field) {
    if (p.kind === "field") out += (out ? "." : "") + p.name;
    else if (p.kind === "extension") out += `${out ? "." : ""}[${p.typeName}]`;
    else if (p.kind === "list_sub") out += `[${p.index}]`;
    else if (p.kind === "map_sub") out += `[${JSON.stringify(String(p.key))}]`;
  }
  return out;
}

/** The value the violation is about, walked down from the message along the field path. */
function valueAt(message: Message, v: Violation): unknown {
  let at: unknown = message;
  for (const p of v.field) {
    if (at === undefined || at === null) return undefined;
    if (p.kind === "field" && p.oneof) {
      // A member of a oneof sits under the oneof, as { case, value }.
      const o = (at as Record<string, { case?: string; value?: unknown }>)[p.oneof.localName];
      at = o?.case === p.localName ? o.value : undefined;
    } else if (p.kind === "field") at = (at as Record<string, unknown>)[p.localName];
    else if (p.kind === "list_sub") at = (at as unknown[])[p.index];
    else if (p.kind === "map_sub") at = (at as Record<string, unknown>)[String(p.key)];
    else return undefined;
  }
  return at;
}

/** The type-specific rules the violation broke ("int32": {gt, lte, ...}), from the field's own options. */
function ruleValues(v: Violation): Record<string, unknown> | undefined {
  // rule path: [FieldRules.<type>, <Type>Rules.<rule>]; the first step names the type's rules message.
  const [typeRules] = v.rule;
  const last = v.field.at(-1);
  if (!typeRules || typeRules.kind !== "field" || !last || last.kind !== "field") return undefined;
  return fieldRules(last)?.[typeRules.localName] as Record<string, unknown> | undefined;
}

const rulesOf = new WeakMap<DescField, Record<string, unknown> | undefined>();
function fieldRules(f: DescField): Record<string, unknown> | undefined {
  if (!rulesOf.has(f))
    rulesOf.set(f, hasOption(f, fieldRulesExtension) ? flatten(getOption(f, fieldRulesExtension).type) : undefined);
  return rulesOf.get(f);
}

/** FieldRules' `type` oneof as { int32: { gt: 0, lte: 1000 } }, each range oneof flattened to its case. */
function flatten(type: { case: string | undefined; value?: unknown }): Record<string, unknown> | undefined {
  if (!type.case) return undefined;
  const rules: Record<string, unknown> = { ...(type.value as object) };
  for (const key of ["greaterThan", "lessThan"]) {
    const range = rules[key] as { case?: string; value?: unknown } | undefined;
    if (range?.case) rules[range.case] = range.value;
  }
  return { [type.case]: rules };
}

const num = (x: unknown) => (typeof x === "bigint" || typeof x === "number" ? Number(x) : NaN);

function describe(v: Violation, value: unknown, rules: Record<string, unknown> | undefined): string | undefined {
  const [kind, rule] = v.ruleId.split(".", 2) as [string, string | undefined];
  if (v.ruleId === "required") return "is required";
  // Everything else keeps protovalidate's words: "one of reservation_id, order_id must be set" names
  // the fields itself, and a CEL rule of the protos says what it means in its `message`.
  if (!rules || kind === "message") return undefined;
  switch (rule) {
    case "gt":
    case "gte":
    case "lt":
    case "lte":
    case "gt_lt":
    case "gt_lte":
    case "gte_lt":
    case "gte_lte":
    case "gt_lt_exclusive":
    case "gt_lte_exclusive":
    case "gte_lt_exclusive":
    case "gte_lte_exclusive":
      return boundBroken(num(value), rules);
    case "in":
      return `must be one of ${(rules.in as unknown[]).join(", ")}, got ${JSON.stringify(value)}`;
    case "max_len":
      return `must be at most ${rules.maxLen} characters`;
    case "min_len":
      return `must be at least ${rules.minLen} characters`;
    case "pattern":
      return `must match ${rules.pattern}`;
    case "uuid":
      return "must be a UUID";
    case "min_items":
      return num(rules.minItems) === 1 ? "must not be empty" : `must hold at least ${rules.minItems} items`;
    case "max_items":
      return `must hold at most ${rules.maxItems} items, got ${(value as unknown[] | undefined)?.length ?? 0}`;
  }
  return undefined;
}

/** Which bound of a range the value broke, the way the services always said it. */
function boundBroken(x: number, r: Record<string, unknown>): string | undefined {
  if (r.gt !== undefined && !(x > num(r.gt)))
    return num(r.gt) === 0 ? "must be positive" : `must be greater than ${r.gt}`;
  if (r.gte !== undefined && !(x >= num(r.gte)))
    return num(r.gte) === 0 ? "must not be negative" : `must be at least ${r.gte}`;
  if (r.lt !== undefined && !(x < num(r.lt))) return `must be less than ${r.lt}`;
  if (r.lte !== undefined && !(x <= num(r.lte))) return `must be at most ${r.lte}`;
  return undefined;
}
