// The kit is a library any platform could lift: its code imports no service, no platform table and no
// generated contract of the shop (the generic gRPC health and reflection protos it serves are its own). Tests may use the shop's events as fixtures; production files may not.
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";

const KIT = import.meta.dir;
const SERVICES = resolve(KIT, "..");

function sources(dir: string, withTests = false): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === "node_modules" ? [] : sources(path, withTests);
    return e.name.endsWith(".ts") && (withTests || !e.name.endsWith(".test.ts")) ? [path] : [];
  });
}

test("kit code imports nothing outside the kit but packages and the generic gRPC protos", () => {
  const generic = join(SERVICES, "contracts/gen");
  const shop = join(generic, "shop");
  const outside: string[] = [];
  for (const file of sources(KIT)) {
    for (const [, spec] of readFileSync(file, "utf8").matchAll(/(?:from|import)\s*\(?\s*"([^"]+)"/g)) {
      if (!spec!.startsWith(".")) continue;
      const target = resolve(file, "..", spec!);
      const allowed =
        target.startsWith(KIT + "/") || (target.startsWith(generic + "/") && !target.startsWith(shop + "/"));
      if (!allowed) outside.push(`${relative(SERVICES, file)} → ${relative(SERVICES, target)}`);
    }
  }
  expect(outside).toEqual([]);
});

test("outside the kit, code imports it only through its indexes (kit/index.ts and one per area)", () => {
  const ROOT = resolve(SERVICES, "..");
  const outsideKit = ["services", "cli", "bench", "tests", "examples"].flatMap((d) =>
    sources(join(ROOT, d), true).filter((f) => !f.startsWith(KIT + "/") && !f.includes("/contracts/gen/")),
  );
  const deep: string[] = [];
  for (const file of outsideKit) {
    for (const [, spec] of readFileSync(file, "utf8").matchAll(/(?:from|import)\s*\(?\s*"([^"]+)"/g)) {
      if (!spec!.startsWith(".")) continue;
      const target = resolve(file, "..", spec!);
      if (!target.startsWith(KIT + "/") && target !== KIT) continue;
      const inside = relative(KIT, target).split("/");
      // The kit itself (its index) or an area (its index), never a file within.
      if (target === KIT || (inside.length === 1 && isArea(inside[0]!))) continue;
      deep.push(`${relative(ROOT, file)} → ${relative(ROOT, target)}`);
    }
  }
  expect(deep).toEqual([]);
});

function isArea(name: string): boolean {
  try {
    return readdirSync(join(KIT, name)).includes("index.ts");
  } catch {
    return false;
  }
}
