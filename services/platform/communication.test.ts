// The communication table is what NATS permissions and token checks are generated from: it must say
// what the services' code actually does, or a service would be refused what it needs (or allowed more).
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { EXPOSED_METHODS } from "../gateway/domain/exposed-methods";
import { backendName } from "../gateway/transcoding/http-routes";
import { eventCatalogue } from "../kit/events";
import { callersOf, communicationMarkdown, OPERATOR, PLATFORM, PLATFORM_STREAMS } from "./communication";

const EVENT_TYPES = eventCatalogue(PLATFORM_STREAMS);

const SERVICES = join(import.meta.dir, "..");

/** The source of a service, tests and generated code left out. */
function sourceOf(service: string): string {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (entry.endsWith(".ts") && !entry.endsWith(".test.ts") && !path.includes("/testing/"))
        out.push(readFileSync(path, "utf8"));
    }
  };
  walk(join(SERVICES, service));
  return out.join("\n");
}

const matches = (pattern: string, subject: string) =>
  pattern.endsWith(".>") ? subject.startsWith(pattern.slice(0, -1)) : pattern === subject;

describe.each(Object.keys(PLATFORM))("%s", (service) => {
  const role = PLATFORM[service]!;
  const code = sourceOf(service);

  test("its consumers are the ones its code defines, on the streams they read", () => {
    const defined = [...code.matchAll(/defineConsumer[^(]*\(\{\s*name: "([a-z-]+)",\s*stream: ([A-Z]+)\b/g)].map(
      (m) => ({ stream: m[2], consumer: m[1] }),
    );
    const table = role.consumes.map((c) => ({ stream: c.stream.name, consumer: c.consumer }));
    expect(defined.sort((a, b) => a.consumer!.localeCompare(b.consumer!))).toEqual(
      table.sort((a, b) => a.consumer.localeCompare(b.consumer)),
    );
  });

  test("it may publish exactly the events its code writes", () => {
    const written = [...EVENT_TYPES.values()]
      .filter((t) => new RegExp(`writeEvent\\([^,]+,\\s*${t.schema.name}\\b`).test(code))
      .map((t) => t.subject);
    for (const subject of written)
      expect(`${subject}: ${role.publishes.some((p) => matches(p, subject))}`).toBe(`${subject}: true`);
    // And nothing it does not write.
    const allowed = [...EVENT_TYPES.values()]
      .filter((t) => role.publishes.some((p) => matches(p, t.subject)))
      .map((t) => t.subject);
    expect(allowed.sort()).toEqual(written.sort());
  });

  test("it may call exactly the services its code calls", () => {
    const connected = [...code.matchAll(/clients\.connect\((\w+)Service\b/g)].map((m) => m[1]!.toLowerCase());
    const rest = [...code.matchAll(/clients\.rest\("([a-z]+)"\)/g)].map((m) => m[1]!);
    // The gateway calls generically: the backends of the methods it exposes.
    const exposed = service === "gateway" ? EXPOSED_METHODS.map((e) => backendName(e.method.parent)) : [];
    expect([...new Set([...connected, ...rest, ...exposed])].sort()).toEqual([...role.calls].sort());
  });
});

test("every event has exactly one producer; callers follow from the table, the operator among them", () => {
  for (const t of EVENT_TYPES.values()) {
    const producers = Object.entries(PLATFORM).filter(([, r]) => r.publishes.some((p) => matches(p, t.subject)));
    expect(`${t.subject}: ${producers.map(([n]) => n).join()}`).toMatch(
      new RegExp(`^${t.subject.replace(".", "\\.")}: [a-z]+$`),
    );
  }
  expect(callersOf("payment")).toEqual([OPERATOR, "order"]);
  expect(callersOf("customer").sort()).toEqual([OPERATOR, "gateway", "notification", "order"].sort());
});

test("the README's Security section shows this table as it is", () => {
  const readme = readFileSync(join(SERVICES, "..", "README.md"), "utf8");
  expect(readme).toContain(communicationMarkdown());
});
