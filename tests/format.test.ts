// One style whoever writes a file: every TypeScript file is as Prettier (.prettierrc.json) prints it.
// Fix with `bun run format`.
import { expect, test } from "bun:test";
import { Glob } from "bun";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as prettier from "prettier";

const ROOT = join(import.meta.dir, "..");

test("every TypeScript file is formatted (bun run format)", async () => {
  const unformatted: string[] = [];
  const options = await prettier.resolveConfig(join(ROOT, "package.json"));
  let checked = 0;
  for await (const file of new Glob("**/*.ts").scan({ cwd: ROOT })) {
    if (file.startsWith("node_modules/")) continue;
    const filepath = join(ROOT, file);
    const { ignored } = await prettier.getFileInfo(filepath, { ignorePath: join(ROOT, ".prettierignore") });
    if (ignored) continue;
    checked++;
    if (!(await prettier.check(readFileSync(filepath, "utf8"), { ...options, filepath }))) unformatted.push(file);
  }
  expect(checked).toBeGreaterThan(200);
  expect(unformatted).toEqual([]);
});
