import { expect, test } from "bun:test";
import { isDatabaseUnavailable } from "./unavailable";

test("a lost or refused connection is the database being unavailable, wrapped or not; a refused statement is not", () => {
  const closed = Object.assign(new Error("write CONNECTION_CLOSED 127.0.0.1:5432"), { code: "CONNECTION_CLOSED" });
  expect(isDatabaseUnavailable(closed)).toBe(true);
  expect(isDatabaseUnavailable(new Error("Failed query: select 1", { cause: closed }))).toBe(true);
  expect(
    isDatabaseUnavailable(
      Object.assign(new Error("terminating connection due to administrator command"), { code: "57P01" }),
    ),
  ).toBe(true);
  expect(isDatabaseUnavailable(Object.assign(new Error("connection failure"), { code: "08006" }))).toBe(true);
  expect(isDatabaseUnavailable(Object.assign(new Error("duplicate key"), { code: "23505" }))).toBe(false);
  expect(isDatabaseUnavailable(new Error("boom"))).toBe(false);
  expect(isDatabaseUnavailable(undefined)).toBe(false);
});
