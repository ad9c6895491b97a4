import { getOption, hasOption, isFieldSet, type DescField, type DescMessage } from "@bufbuild/protobuf";
import {
  field as fieldRules,
  message as messageRules,
  RepeatedRulesSchema,
  StringRulesSchema,
  type FieldRules,
} from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";

type Schema = Record<string, unknown>;

const rulesOf = (f: DescField): FieldRules | undefined =>
  hasOption(f, fieldRules) ? getOption(f, fieldRules) : undefined;

/** Whether the field's `buf.validate` rules require it (a JSON Schema `required` property). */
export const isRequiredField = (f: DescField) => rulesOf(f)?.required === true;

/** A 64-bit integer is a string in proto3 JSON: its bounds are said in words, JSON Schema's apply to numbers. */
const wide = (c: string | undefined) =>
  c === "int64" || c === "uint64" || c === "sint64" || c === "fixed64" || c === "sfixed64";

/**
 * The JSON Schema keywords that say what a field's `buf.validate` rules say, so the OpenAPI document
 * shows the constraints the services enforce: lengths, patterns, UUIDs, allowed values, ranges, item
 * counts. CEL rules, which JSON Schema cannot express, are listed in the description by what they say.
 */
export function ruleConstraints(f: DescField): Schema {
  const rules = rulesOf(f);
  if (!rules) return {};
  const out: Schema = {};
  const words: string[] = [];
  const t = rules.type;
  if (t.case === "string") {
    // validate.proto is proto2: an unset rule reads as its default, so presence is asked for.
    const s = t.value;
    const has = (f: keyof typeof StringRulesSchema.field) => isFieldSet(s, StringRulesSchema.field[f]);
    const min = has("minLen") ? Number(s.minLen) : rules.required ? 1 : 0;
    if (min) out.minLength = min;
    if (has("maxLen")) out.maxLength = Number(s.maxLen);
    if (has("pattern")) out.pattern = s.pattern;
    if (s.in.length) out.enum = [...s.in];
    if (s.wellKnown.case === "uuid") out.format = "uuid";
    if (s.wellKnown.case === "email") out.format = "email";
  } else if (t.case === "repeated") {
    if (isFieldSet(t.value, RepeatedRulesSchema.field.minItems)) out.minItems = Number(t.value.minItems);
    if (isFieldSet(t.value, RepeatedRulesSchema.field.maxItems)) out.maxItems = Number(t.value.maxItems);
  } else if (t.case && "greaterThan" in t.value && "lessThan" in t.value) {
    const { greaterThan: gt, lessThan: lt } = t.value as {
      greaterThan: { case?: string; value?: unknown };
      lessThan: { case?: string; value?: unknown };
    };
    if (wide(t.case)) {
      if (gt.case) words.push(`${gt.case === "gt" ? "greater than" : "at least"} ${gt.value}`);
      if (lt.case) words.push(`${lt.case === "lt" ? "less than" : "at most"} ${lt.value}`);
    } else {
      if (gt.case === "gt") out.exclusiveMinimum = Number(gt.value);
      if (gt.case === "gte") out.minimum = Number(gt.value);
      if (lt.case === "lt") out.exclusiveMaximum = Number(lt.value);
      if (lt.case === "lte") out.maximum = Number(lt.value);
    }
  }
  for (const rule of rules.cel) words.push(rule.message || rule.expression);
  if (words.length) out.description = `Rules: ${words.join("; ")}.`;
  return out;
}

/** What a message's own rules say (one of some fields required, say), for its schema's description. */
export function messageRuleText(m: DescMessage): string | undefined {
  if (!hasOption(m, messageRules)) return undefined;
  const r = getOption(m, messageRules);
  const said = [
    ...r.oneof.map((o) => `${o.required ? "exactly" : "at most"} one of ${o.fields.join(", ")}`),
    ...r.cel.map((c) => c.message || c.expression),
  ];
  return said.length ? `Rules: ${said.join("; ")}.` : undefined;
}
