// The generated code is what `bun run generate` makes from proto/ today, and the protos pass `buf lint`.
import { expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { runToExit } from "../services/kit/testing";

const ROOT = join(import.meta.dir, "..");
const GEN = "services/contracts/gen";

const buf = (args: string[]) =>
  runToExit([join(ROOT, "node_modules/.bin/buf"), ...args], {
    env: { PATH: `${join(ROOT, "node_modules/.bin")}:${process.env.PATH}` },
  });

function files(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(relative(dir, p), readFileSync(p, "utf8"));
    }
  };
  walk(dir);
  return out;
}

test("committed generated code matches a fresh `buf generate`", async () => {
  const scratch = mkdtempSync(join(tmpdir(), "gen-"));
  try {
    const { stderr, code } = await buf(["generate", "--output", scratch]);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    const fresh = files(join(scratch, GEN));
    const committed = files(join(ROOT, GEN));
    expect([...committed.keys()].sort()).toEqual([...fresh.keys()].sort());
    const stale = [...fresh].filter(([path, text]) => committed.get(path) !== text).map(([path]) => path);
    expect(stale).toEqual([]); // run `bun run generate` and commit the result
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
});

test("buf lint passes", async () => {
  const { stdout, code } = await buf(["lint"]);
  expect(stdout).toBe("");
  expect(code).toBe(0);
});
