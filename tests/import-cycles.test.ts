// No import cycle anywhere in the code: a module graph a reader can follow from the entry files down.
import { expect, test } from "bun:test";
import madge from "madge";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..");

test("no import cycles under services/, cli/, bench/ and tests/", async () => {
  const graph = await madge(
    ["services", "cli", "bench", "tests"].map((d) => join(ROOT, d)),
    {
      baseDir: ROOT,
      fileExtensions: ["ts"],
      tsConfig: join(ROOT, "tsconfig.json"),
      excludeRegExp: [/contracts\/gen\//, /node_modules/],
    },
  );
  expect(Object.keys(graph.obj()).length).toBeGreaterThan(200);
  expect(graph.circular()).toEqual([]);
});
