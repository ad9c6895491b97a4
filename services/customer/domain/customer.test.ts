import { expect, test } from "bun:test";
import { parseEmail, parseRegistration } from "./customer";

test("parseEmail lower-cases a valid address and names the field of a bad one", () => {
  expect(parseEmail("Ada@Example.COM")).toEqual({ email: "ada@example.com" });
  expect(parseEmail(undefined)).toEqual({ problem: "email is required" });
  expect(parseEmail("")).toEqual({ problem: "email is required" });
  expect(parseEmail(7)).toEqual({ problem: "email is required" });
  expect(parseEmail("no-at.example.com")).toEqual({ problem: "email is not an e-mail address" });
  expect(parseEmail("a@b")).toEqual({ problem: "email is not an e-mail address" });
  expect(parseEmail(`${"a".repeat(243)}@example.com`)).toEqual({ problem: "email is not an e-mail address" });
  expect(parseEmail("x", "customer.email")).toEqual({ problem: "customer.email is not an e-mail address" });
});

test("parseRegistration trims the name and reports every problem at once", () => {
  expect(parseRegistration({ email: "Ada@example.com", name: " Ada " })).toEqual({
    email: "ada@example.com",
    name: "Ada",
  });
  expect(parseRegistration({})).toEqual({ problems: ["email is required", "name is required"] });
  expect(parseRegistration({ email: "ada@example.com", name: "x".repeat(201) })).toEqual({
    problems: ["name must be at most 200 characters"],
  });
  expect(parseRegistration({ email: "bad", name: "Ada" })).toEqual({ problems: ["email is not an e-mail address"] });
});
