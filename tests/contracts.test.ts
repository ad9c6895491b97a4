// The generated code is what `bun run generate` makes from proto/ today, the protos pass `buf lint`,
// break nothing released, and build on the very validate.proto the validator enforces.
import { create, fromBinary, toBinary, toJson } from "@bufbuild/protobuf";
import { FieldOptionsSchema, FileDescriptorProtoSchema, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { file_buf_validate_validate } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { describe, expect, test } from "bun:test";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { breakingChanges } from "../cli/contracts";
import { VALIDATE_PROTO, validateProtoSource } from "../cli/validate-proto";
import { runToExit } from "../services/kit/testing";

const ROOT = join(import.meta.dir, "..");
const GEN = "services/contracts/gen";

const buf = (args: string[]) =>
  runToExit([join(ROOT, "node_modules/.bin/buf"), ...args], {
    env: { PATH: `${join(ROOT, "node_modules/.bin")}:${process.env.PATH}` },
  });

function files(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(relative(dir, p), readFileSync(p, "utf8"));
    }
  };
  walk(dir);
  return out;
}

test("committed generated code matches a fresh `buf generate`", async () => {
  const scratch = mkdtempSync(join(tmpdir(), "gen-"));
  try {
    const { stderr, code } = await buf(["generate", "--output", scratch]);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    const fresh = files(join(scratch, GEN));
    const committed = files(join(ROOT, GEN));
    expect([...committed.keys()].sort()).toEqual([...fresh.keys()].sort());
    const stale = [...fresh].filter(([path, text]) => committed.get(path) !== text).map(([path]) => path);
    expect(stale).toEqual([]); // run `bun run generate` and commit the result
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
});

test("buf lint passes", async () => {
  const { stdout, code } = await buf(["lint"]);
  expect(stdout).toBe("");
  expect(code).toBe(0);
});

describe("buf breaking against the released contracts (proto/released.binpb)", () => {
  test("proto/ breaks nothing that was released", async () => {
    expect(await breakingChanges()).toEqual([]); // or, on purpose: `bun run contracts:release`
  });

  test("a renumbered field, in an RPC message or an event, fails the check naming it", async () => {
    const scratch = mkdtempSync(join(tmpdir(), "breaking-"));
    try {
      for (const entry of ["buf.yaml", "proto", "third_party"])
        cpSync(join(ROOT, entry), join(scratch, entry), { recursive: true });
      symlinkSync(join(ROOT, "node_modules"), join(scratch, "node_modules"));
      /** Gives `field` of `message` in `file` another number: the first `<field> = <n>` after the message opens. */
      const renumber = (file: string, message: string, field: string, to: number) => {
        const path = join(scratch, "proto/shop", file);
        const text = readFileSync(path, "utf8");
        const at = text.indexOf(`message ${message} {`);
        expect(at).toBeGreaterThan(-1);
        const rest = text.slice(at).replace(new RegExp(`\\b${field} = \\d+`), `${field} = ${to}`);
        expect(rest).not.toBe(text.slice(at));
        writeFileSync(path, text.slice(0, at) + rest);
      };
      renumber("order/v1/order_service.proto", "LineItem", "quantity", 7);
      renumber("payment/v1/events.proto", "PaymentProcessed", "amount", 9);
      const changes = await breakingChanges(scratch);
      const about = (message: string, field: string) =>
        changes.filter((c) => c.message.includes(`"${message}"`) && c.message.includes(`"${field}"`));
      expect(about("LineItem", "quantity")).not.toEqual([]);
      expect(about("PaymentProcessed", "amount")).not.toEqual([]);
      expect(changes.map((c) => c.path)).toContain("proto/shop/order/v1/order_service.proto");
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});

describe("third_party/protovalidate/buf/validate/validate.proto", () => {
  test("is what cli/validate-proto.ts prints from @bufbuild/protovalidate", () => {
    expect(readFileSync(join(ROOT, VALIDATE_PROTO), "utf8")).toBe(validateProtoSource()); // bun cli/validate-proto.ts
  });

  test("compiles to the very descriptor the validator enforces", async () => {
    const scratch = mkdtempSync(join(tmpdir(), "validate-"));
    try {
      const { code, stderr } = await buf(["build", "--exclude-source-info", "-o", join(scratch, "image.binpb")]);
      expect(stderr).toBe("");
      expect(code).toBe(0);
      const image = fromBinary(FileDescriptorSetSchema, readFileSync(join(scratch, "image.binpb")));
      const built = image.file.find((f) => f.name === "buf/validate/validate.proto")!;
      const shipped = file_buf_validate_validate.proto;
      expect(toJson(FileDescriptorProtoSchema, built)).toEqual(toJson(FileDescriptorProtoSchema, shipped));
      // The rules' own CEL lives in options toJson leaves out (extensions): compare those as bytes.
      const optionBytes = (f: typeof built) =>
        f.messageType.flatMap((m) =>
          m.field.map((x) =>
            Buffer.from(toBinary(FieldOptionsSchema, x.options ?? create(FieldOptionsSchema))).toString("hex"),
          ),
        );
      expect(optionBytes(built)).toEqual(optionBytes(shipped));
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});
