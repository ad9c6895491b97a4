import { hasOption, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { createValidator } from "@bufbuild/protovalidate";
import {
  field as fieldRules,
  message as messageRules,
  oneof as oneofRules,
} from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { violationText, type FieldViolation } from "./violation-text";

export type { FieldViolation };

// Patterns are matched with the engine's own RegExp (unicode mode) rather than protovalidate's default,
// a RE2 written in JavaScript: the same answers for the patterns RE2 and ECMAScript share (classes,
// anchors, repetition), at a third of the cost per call. Write patterns in that common subset.
const compiled = new Map<string, RegExp>();
function regexMatch(pattern: string, against: string): boolean {
  let re = compiled.get(pattern);
  if (!re) compiled.set(pattern, (re = new RegExp(pattern, "u")));
  return re.test(against);
}

// One validator for the process: it plans each message type once, on first use, and keeps the plan.
const validator = createValidator({ regexMatch });

/**
 * The `buf.validate` rules of a message's schema (and of the messages in it) that the message breaks,
 * in field order; empty when it keeps them all. A rule that cannot be evaluated (a CEL expression that
 * does not compile) is a fault of the contract, thrown.
 *
 * @example
 *   const broken = ruleViolations(CreateOrderRequestSchema, req);
 *   if (broken.length) throw new ConnectError(violationsMessage(broken), Code.InvalidArgument);
 */
export function ruleViolations<D extends DescMessage>(schema: D, message: MessageShape<D>): FieldViolation[] {
  if (!hasRules(schema)) return [];
  const result = validator.validate(schema, message);
  if (result.kind === "valid") return [];
  if (result.kind === "error") throw result.error;
  return result.violations.map((v) => violationText(v, message));
}

// Whether a message type, or one in its fields, has any rule: a request without (a health check, a
// reflection request) skips the validator, which otherwise walks every field to find none.
const ruled = new WeakMap<DescMessage, boolean>();
function hasRules(schema: DescMessage, visiting = new Set<DescMessage>()): boolean {
  const known = ruled.get(schema);
  if (known !== undefined) return known;
  if (visiting.has(schema)) return false; // a cycle: decided where it started
  visiting.add(schema);
  const found =
    hasOption(schema, messageRules) ||
    schema.oneofs.some((o) => hasOption(o, oneofRules)) ||
    schema.fields.some((f) => hasOption(f, fieldRules) || (f.message !== undefined && hasRules(f.message, visiting)));
  if (visiting.size === 1 || found) ruled.set(schema, found);
  return found;
}

/** Broken rules as one message naming each field: "items[0].quantity must be positive; currency is required". */
export const violationsMessage = (violations: readonly FieldViolation[]) =>
  violations.map((v) => (v.field ? `${v.field} ${v.description}` : v.description)).join("; ");

/**
 * What is wrong with a message by its schema's rules, as one sentence, or undefined: the shape a
 * consumer's `validate` returns.
 */
export function rulesProblem<D extends DescMessage>(schema: D, message: MessageShape<D>): string | undefined {
  const broken = ruleViolations(schema, message);
  return broken.length ? violationsMessage(broken) : undefined;
}
