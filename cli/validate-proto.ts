/**
 * Writes third_party/protovalidate/buf/validate/validate.proto from the descriptor that the npm package
 * @bufbuild/protovalidate embeds, so the protos' `buf.validate` annotations compile against exactly the
 * rules the validator enforces at run time. The Buf Schema Registry is not reachable here and the
 * package ships no .proto file; this prints one from the package (proto2, no nested types, the only
 * options being the `(buf.validate.predefined).cel` rules, which is what validate.proto holds).
 * tests/contracts.test.ts fails when the committed file differs from a fresh print.
 *
 *   bun cli/validate-proto.ts        # after a version bump of @bufbuild/protovalidate
 */
import { getExtension, hasExtension, isFieldSet } from "@bufbuild/protobuf";
import {
  FieldDescriptorProto_Label as Label,
  FieldDescriptorProto_Type as Type,
  type DescriptorProto,
  type EnumDescriptorProto,
  type FieldDescriptorProto,
  type FieldOptions,
  FieldDescriptorProtoSchema,
  FieldOptionsSchema,
} from "@bufbuild/protobuf/wkt";
import {
  file_buf_validate_validate,
  predefined,
  RuleSchema,
} from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

export const VALIDATE_PROTO = "third_party/protovalidate/buf/validate/validate.proto";

const SCALAR: Partial<Record<Type, string>> = {
  [Type.DOUBLE]: "double",
  [Type.FLOAT]: "float",
  [Type.INT64]: "int64",
  [Type.UINT64]: "uint64",
  [Type.INT32]: "int32",
  [Type.FIXED64]: "fixed64",
  [Type.FIXED32]: "fixed32",
  [Type.BOOL]: "bool",
  [Type.STRING]: "string",
  [Type.BYTES]: "bytes",
  [Type.UINT32]: "uint32",
  [Type.SFIXED32]: "sfixed32",
  [Type.SFIXED64]: "sfixed64",
  [Type.SINT32]: "sint32",
  [Type.SINT64]: "sint64",
};

const quote = (s: string) =>
  `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n").replace(/\t/g, "\\t")}"`;

const typeOf = (f: FieldDescriptorProto) => SCALAR[f.type] ?? f.typeName;

/** A range's end as proto source writes it: inclusive, and `max` for the largest field number. */
const upTo = (end: number) => (end >= 536870911 ? "max" : String(end));

function fieldOptions(o: FieldOptions | undefined): string {
  if (!o) return "";
  const known = FieldOptionsSchema.fields.filter((f) => isFieldSet(o, f));
  const unknown = (o.$unknown ?? []).filter((u) => u.no !== predefined.number);
  if (known.length || unknown.length) throw new Error(`an option this printer does not know: ${JSON.stringify(o)}`);
  if (!hasExtension(o, predefined)) return "";
  const rules = getExtension(o, predefined).cel.map((r) => {
    const parts = [`id: ${quote(r.id)}`];
    if (isFieldSet(r, RuleSchema.field.message)) parts.push(`message: ${quote(r.message)}`);
    parts.push(`expression: ${quote(r.expression)}`);
    return `(buf.validate.predefined).cel = {\n    ${parts.join("\n    ")}\n  }`;
  });
  return ` [\n  ${rules.join(",\n  ")}\n]`;
}

function field(f: FieldDescriptorProto, inOneof: boolean, extendee = false): string {
  const label = inOneof
    ? ""
    : f.label === Label.REPEATED
      ? "repeated "
      : f.label === Label.REQUIRED
        ? "required "
        : "optional ";
  if (f.defaultValue || (!extendee && f.extendee)) throw new Error(`unexpected field shape: ${f.name}`);
  return `${label}${typeOf(f)} ${f.name} = ${f.number}${fieldOptions(f.options)};`;
}

const indent = (text: string, by = "  ") =>
  text
    .split("\n")
    .map((l) => (l ? by + l : l))
    .join("\n");

const inOneofField = FieldDescriptorProtoSchema.field.oneofIndex;

function message(m: DescriptorProto): string {
  if (m.nestedType.length || m.enumType.length || m.extension.length || m.options)
    throw new Error(`unexpected message shape: ${m.name}`);
  const body: string[] = [];
  const printedOneofs = new Set<number>();
  for (const f of m.field) {
    if (!isFieldSet(f, inOneofField)) {
      body.push(field(f, false));
      continue;
    }
    if (printedOneofs.has(f.oneofIndex)) continue;
    printedOneofs.add(f.oneofIndex);
    const members = m.field.filter((g) => isFieldSet(g, inOneofField) && g.oneofIndex === f.oneofIndex);
    body.push(`oneof ${m.oneofDecl[f.oneofIndex].name} {\n${indent(members.map((g) => field(g, true)).join("\n"))}\n}`);
  }
  for (const r of m.extensionRange) body.push(`extensions ${r.start} to ${upTo(r.end - 1)};`);
  for (const r of m.reservedRange)
    body.push(`reserved ${r.end - 1 === r.start ? r.start : `${r.start} to ${upTo(r.end - 1)}`};`);
  if (m.reservedName.length) body.push(`reserved ${m.reservedName.map(quote).join(", ")};`);
  return `message ${m.name} {\n${indent(body.join("\n"))}\n}`;
}

function enumType(e: EnumDescriptorProto): string {
  const body = e.value.map((v) => `${v.name} = ${v.number};`);
  for (const r of e.reservedRange) body.push(`reserved ${r.end === r.start ? r.start : `${r.start} to ${r.end}`};`);
  if (e.reservedName.length) body.push(`reserved ${e.reservedName.map(quote).join(", ")};`);
  return `enum ${e.name} {\n${indent(body.join("\n"))}\n}`;
}

/** validate.proto as source, printed from the package's descriptor. */
export function validateProtoSource(): string {
  const f = file_buf_validate_validate.proto;
  if (f.syntax !== "" && f.syntax !== "proto2") throw new Error(`expected proto2, got ${f.syntax}`);
  const o = f.options!;
  const extensions = new Map<string, FieldDescriptorProto[]>();
  for (const x of f.extension) extensions.set(x.extendee, [...(extensions.get(x.extendee) ?? []), x]);
  return [
    `// Printed by cli/validate-proto.ts from the descriptor embedded in the npm package`,
    `// @bufbuild/protovalidate (Apache-2.0, Buf Technologies); not edited by hand.`,
    `syntax = "proto2";`,
    ``,
    `package ${f.package};`,
    ``,
    ...f.dependency.map((d) => `import ${quote(d)};`),
    ``,
    `option go_package = ${quote(o.goPackage)};`,
    `option java_multiple_files = ${o.javaMultipleFiles};`,
    `option java_outer_classname = ${quote(o.javaOuterClassname)};`,
    `option java_package = ${quote(o.javaPackage)};`,
    ``,
    ...[...extensions].map(
      ([extendee, xs]) => `extend ${extendee} {\n${indent(xs.map((x) => field(x, false, true)).join("\n"))}\n}\n`,
    ),
    ...f.messageType.map((m) => message(m) + "\n"),
    ...f.enumType.map((e) => enumType(e) + "\n"),
  ].join("\n");
}

if (import.meta.main) {
  writeFileSync(join(import.meta.dir, "..", VALIDATE_PROTO), validateProtoSource());
  console.log(`wrote ${VALIDATE_PROTO}`);
}
