import { describe, expect, test } from "bun:test";
import { ConfigError, integer, oneOf, port, readConfig, text, url } from "./config";

const spec = {
  PORT: port(8080),
  LIMIT: integer(10, { min: 1, max: 100 }),
  MODE: oneOf(["fast", "safe"], "safe"),
  NATS_URL: url("nats://127.0.0.1:4222", ["nats"]),
  SECRET: text(),
};

describe("readConfig", () => {
  test("defaults apply when a variable is unset or empty", () => {
    expect(readConfig(spec, { SECRET: "s", PORT: "" })).toEqual({ PORT: 8080, LIMIT: 10, MODE: "safe", NATS_URL: "nats://127.0.0.1:4222", SECRET: "s" });
  });

  test("values are parsed", () => {
    expect(readConfig(spec, { SECRET: "s", PORT: "0", LIMIT: "100", MODE: "fast", NATS_URL: "nats://a:1,nats://b:2" })).toMatchObject({ PORT: 0, LIMIT: 100, MODE: "fast" });
  });

  test("every problem is reported at once, under the name the user set", () => {
    const env = { PORT: "70000", LIMIT: "0", MODE: "reckless", NATS_URL: "http://x", MY_PORT: "x" };
    let error: unknown;
    try {
      readConfig(spec, env, { PORT: "PAYMENT_HTTP_PORT" });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems.map((p) => p.split(/[= ]/)[0])).toEqual(["PAYMENT_HTTP_PORT", "LIMIT", "MODE", "NATS_URL", "SECRET"]);
    expect(problems.at(-1)).toBe("SECRET is required (a string)");
  });
});
