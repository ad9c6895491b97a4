import { expect, test } from "bun:test";
import { textProblem } from "./text";

test("text: required, bounded, and free of control characters (reasons keep their lines)", () => {
  expect(textProblem("name", "Ada Lovelace", { max: 200, required: true })).toBeUndefined();
  expect(textProblem("name", "  ", { max: 200, required: true })).toBe("name is required");
  expect(textProblem("name", "x".repeat(201), { max: 200 })).toBe("name must be at most 200 characters");
  for (const bad of ["Ada\u0000", "Ada\u0007", "A\nda", "Ada\u009b"])
    expect(textProblem("name", bad, { max: 200 })).toBe("name must not contain control characters");
  expect(textProblem("reason", "line one\n\tline two", { max: 500, lines: true })).toBeUndefined();
  expect(textProblem("reason", "nul\u0000", { max: 500, lines: true })).toBe(
    "reason must not contain control characters",
  );
  expect(textProblem("reason", "", { max: 500 })).toBeUndefined();
});
