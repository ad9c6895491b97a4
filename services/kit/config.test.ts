import { describe, expect, test } from "bun:test";
import {
  ConfigError,
  entropyBits,
  integer,
  maskCredentials,
  oneOf,
  port,
  readConfig,
  secret,
  text,
  url,
} from "./config";

const spec = {
  PORT: port(8080),
  LIMIT: integer(10, { min: 1, max: 100 }),
  MODE: oneOf(["fast", "safe"], "safe"),
  NATS_URL: url("nats://127.0.0.1:4222", ["nats"]),
  SECRET: text(),
};

describe("readConfig", () => {
  test("defaults apply when a variable is unset or empty", () => {
    expect(readConfig(spec, { SECRET: "s", PORT: "" })).toEqual({
      PORT: 8080,
      LIMIT: 10,
      MODE: "safe",
      NATS_URL: "nats://127.0.0.1:4222",
      SECRET: "s",
    });
  });

  test("values are parsed", () => {
    expect(
      readConfig(spec, { SECRET: "s", PORT: "0", LIMIT: "100", MODE: "fast", NATS_URL: "nats://a:1,nats://b:2" }),
    ).toMatchObject({ PORT: 0, LIMIT: 100, MODE: "fast" });
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
    expect(problems.map((p) => p.split(/[= ]/)[0])).toEqual([
      "PAYMENT_HTTP_PORT",
      "LIMIT",
      "MODE",
      "NATS_URL",
      "SECRET",
    ]);
    expect(problems.at(-1)).toBe("SECRET is required (a string)");
  });
});

describe("secrets and credentials", () => {
  const problemsOf = (env: Record<string, string>) => {
    try {
      readConfig(
        { KEY: secret({ minChars: 32, minBits: 128 }), NATS_URL: url("nats://127.0.0.1:4222", ["nats"]) },
        env,
      );
      return [];
    } catch (e) {
      return (e as ConfigError).problems;
    }
  };

  test("placeholders, short and predictable secrets are refused, and never quoted", () => {
    for (const bad of [
      "change-me-to-at-least-32-random-characters",
      "x".repeat(40),
      "12345678901234567890123456789012",
      "tiny9",
    ]) {
      const [problem] = problemsOf({ KEY: bad });
      expect(problem).toStartWith("KEY is not a random secret");
      expect(problem).not.toContain(bad);
    }
    expect(problemsOf({ KEY: "change-me-to-at-least-32-random-characters" })[0]).toContain("placeholder");
    expect(problemsOf({ KEY: "ab".repeat(20) })[0]).toContain("too predictable");
    expect(problemsOf({ KEY: `${crypto.randomUUID()}${crypto.randomUUID()}` })).toEqual([]);
    expect(problemsOf({ KEY: Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("hex") })).toEqual([]);
    expect(entropyBits("ab".repeat(16))).toBe(32);
  });

  test("a URL's password never appears in an error", () => {
    const [problem] = problemsOf({
      KEY: `${crypto.randomUUID()}${crypto.randomUUID()}`,
      NATS_URL: "http://svc:hunter2@nats.internal:4222",
    });
    expect(problem).toContain('NATS_URL="http://svc:***@nats.internal:4222"');
    expect(problem).not.toContain("hunter2");
    expect(maskCredentials("nats://a:b@h1:4222,nats://c:d@h2:4222")).toBe("nats://a:***@h1:4222,nats://c:***@h2:4222");
    expect(maskCredentials("smtp://user:p%40ss@mail.example.com:587")).toBe("smtp://user:***@mail.example.com:587");
    expect(maskCredentials("postgres://postgres@127.0.0.1:5432/test")).toBe("postgres://postgres@127.0.0.1:5432/test");
  });
});
