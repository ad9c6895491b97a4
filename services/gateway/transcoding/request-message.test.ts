// The request builder on a message with every shape the URL can carry: repeated scalars, nested
// messages, enums, bools. FileDescriptorProto has them all, so no test-only proto is needed.
import { describe, expect, test } from "bun:test";
import { FileDescriptorProtoSchema, FileOptions_OptimizeMode, type FileDescriptorProto } from "@bufbuild/protobuf/wkt";
import { RequestProblem, requestMessage, type HttpInput } from "./request-message";

const input = FileDescriptorProtoSchema;
const build = (body: string, http: Partial<HttpInput>) =>
  requestMessage(
    { input, body },
    { bindings: {}, query: new URLSearchParams(), body: "", ...http },
  ) as FileDescriptorProto;
const problem = (body: string, http: Partial<HttpInput>) => {
  try {
    build(body, http);
  } catch (e) {
    expect(e).toBeInstanceOf(RequestProblem);
    return (e as Error).message;
  }
  throw new Error("expected a RequestProblem");
};
const q = (s: string) => new URLSearchParams(s);

describe("query parameters (no body)", () => {
  test("scalars, repeated params, nested dot paths, enums by name or number, bools", () => {
    const m = build("", {
      query: q(
        "name=a.proto&dependency=x.proto&dependency=y.proto&publicDependency=2&options.java_package=com.x&options.optimize_for=CODE_SIZE&options.ccEnableArenas=true",
      ),
    });
    expect(m.name).toBe("a.proto");
    expect(m.dependency).toEqual(["x.proto", "y.proto"]);
    expect(m.publicDependency).toEqual([2]);
    expect(m.options?.javaPackage).toBe("com.x");
    expect(m.options?.optimizeFor).toBe(FileOptions_OptimizeMode.CODE_SIZE);
    expect(m.options?.ccEnableArenas).toBe(true);
    expect(build("", { query: q("options.optimize_for=3") }).options?.optimizeFor).toBe(
      FileOptions_OptimizeMode.LITE_RUNTIME,
    );
  });

  test("a repeated field takes every value in order; mixing its two spellings is refused", () => {
    expect(build("", { query: q("public_dependency=1&name=a&public_dependency=4") }).publicDependency).toEqual([1, 4]);
    expect(problem("", { query: q("public_dependency=1&publicDependency=4") })).toBe(
      "public_dependency: given both as public_dependency and as publicDependency; use one name",
    );
  });

  test("bad values name the field", () => {
    expect(problem("", { query: q("options.optimize_for=FAST") })).toBe(
      'options.optimize_for: "FAST" is not a value of google.protobuf.FileOptions.OptimizeMode',
    );
    expect(problem("", { query: q("options.cc_enable_arenas=yes") })).toStartWith("options.cc_enable_arenas:");
    expect(problem("", { query: q("public_dependency=one") })).toStartWith("public_dependency[0]:");
    expect(problem("", { query: q("name=a&name=b") })).toBe("name: given 2 times but it is not repeated");
    expect(problem("", { query: q("colour=red") })).toStartWith("colour: unknown query parameter");
    expect(problem("", { query: q("options.nope=1") })).toStartWith("options.nope: unknown query parameter");
    expect(problem("", { query: q("name.x=1") })).toContain("name is not a message");
    expect(problem("", { query: q("options=x") })).toStartWith("options: a message cannot be set from the URL");
    expect(problem("", { query: q("message_type=x") })).toStartWith(
      "message_type: a list of messages cannot be set from the URL",
    );
  });
});

describe("path variables", () => {
  test("fill their fields and win over the body, whichever spelling the body used", () => {
    const m = build("*", {
      bindings: { name: "path.proto", "options.java_package": "from.path" },
      body: JSON.stringify({
        name: "body.proto",
        syntax: "proto3",
        options: { javaPackage: "from.body", javaMultipleFiles: true },
      }),
    });
    expect(m.name).toBe("path.proto");
    expect(m.syntax).toBe("proto3");
    expect(m.options?.javaPackage).toBe("from.path");
    expect(m.options?.javaMultipleFiles).toBe(true);
  });

  test("a field bound by the path cannot also come from the query", () => {
    expect(problem("", { bindings: { name: "a" }, query: q("name=b") })).toBe(
      "name: set by the URL path, not a query parameter",
    );
    expect(problem("", { bindings: { "options.java_package": "a" }, query: q("options=x") })).toBe(
      "options: set by the URL path, not a query parameter",
    );
  });
});

describe("bodies", () => {
  test('body "*" is the whole message; query parameters are refused', () => {
    expect(build("*", { body: '{"name":"a.proto","publicDependency":[1]}' }).publicDependency).toEqual([1]);
    expect(build("*", { body: "" }).name).toBe("");
    expect(problem("*", { body: "{}", query: q("name=a") })).toBe(
      "name: query parameters are not accepted here, every field goes in the body",
    );
    expect(problem("*", { body: "[1]" })).toBe("the body must be a JSON object");
    expect(problem("*", { body: "{" })).toStartWith("the body is not valid JSON");
  });

  test('body "<field>" is that field; the rest comes from the path and the query', () => {
    const m = build("options", { body: '{"java_package":"com.y","optimizeFor":"SPEED"}', query: q("name=a.proto") });
    expect(m.name).toBe("a.proto");
    expect(m.options?.javaPackage).toBe("com.y");
    expect(m.options?.optimizeFor).toBe(FileOptions_OptimizeMode.SPEED);
    expect(problem("options", { body: "{}", query: q("options.java_package=x") })).toBe(
      "options.java_package: set by the body, not a query parameter",
    );
    expect(problem("options", { body: '"text"' })).toStartWith("options:");
  });

  test("problems deep in the body are named by their path", () => {
    expect(problem("*", { body: '{"options":{"optimizeFor":"FAST"}}' })).toStartWith("options.optimize_for:");
    expect(problem("*", { body: '{"messageType":[{"name":"A"},{"name":5}]}' })).toStartWith("message_type[1].name:");
    expect(problem("*", { body: '{"messageType":[{"field":[{"number":"x"}]}]}' })).toStartWith(
      "message_type[0].field[0].number:",
    );
    expect(problem("*", { body: '{"options":{"nope":1}}' })).toBe("options.nope: unknown field");
    expect(problem("*", { body: '{"publicDependency":[1],"public_dependency":[2]}' })).toBe(
      "public_dependency: given twice (as public_dependency and publicDependency)",
    );
    expect(problem("*", { body: '{"dependency":"x"}' })).toStartWith("dependency:");
  });
});
