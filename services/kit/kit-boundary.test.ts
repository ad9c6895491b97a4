// The kit is a library any platform could lift: its code imports no service, no platform table and no
// generated contract of the shop (the generic gRPC health and reflection protos it serves are its own). Tests may use the shop's events as fixtures; production files may not.
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";

const KIT = import.meta.dir;
const SERVICES = resolve(KIT, "..");

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sources(path);
    return e.name.endsWith(".ts") && !e.name.endsWith(".test.ts") ? [path] : [];
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
