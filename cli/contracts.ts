/**
 * The released contracts and the check that guards them.
 *
 *   bun run contracts:breaking   # what in proto/ breaks the released contracts (the tests run this)
 *   bun run contracts:release    # deliberately: proto/ as it is now becomes the released contracts
 *
 * The released contracts are a Buf image committed at proto/released.binpb (every proto/ file with its
 * imports, no source info). A snapshot rather than a git ref: a clean or shallow clone of main has no
 * merge-base to compare against (on main it is HEAD itself), HEAD~ says nothing about what was released,
 * and `--against .git#...` needs history a CI clone may not have. A snapshot needs nothing but the
 * working tree, and changing it is a reviewed change of its own: a breaking change shows up as a
 * failing test until someone releases it on purpose, and then as a diff of this file in the commit.
 */
import { join } from "node:path";
import { runToExit } from "../services/kit/testing";

const ROOT = join(import.meta.dir, "..");
export const RELEASED = "proto/released.binpb";

const buf = (args: string[], cwd: string) =>
  runToExit([join(ROOT, "node_modules/.bin/buf"), ...args], {
    cwd,
    env: { PATH: `${join(ROOT, "node_modules/.bin")}:${process.env.PATH}` },
  });

export interface BreakingChange {
  path: string;
  line: number;
  type: string;
  message: string;
}

/**
 * `buf breaking` of the proto/ module under `root` (RPC and event protos alike, the FILE rules of
 * buf.yaml) against the released image. `root` is a checkout with buf.yaml and node_modules: the repo,
 * or a scratch copy of it in a test.
 */
export async function breakingChanges(root = ROOT): Promise<BreakingChange[]> {
  const { stdout, stderr, code } = await buf(
    ["breaking", "proto", "--against", join(root, RELEASED), "--error-format", "json"],
    root,
  );
  if (code === 0) return [];
  const found = stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l))
    .map((j) => ({ path: j.path, line: j.start_line, type: j.type, message: j.message }));
  if (found.length === 0) throw new Error(`buf breaking failed (${code}): ${stderr || stdout}`);
  return found;
}

/** Builds proto/ (with its imports, so the image stands alone) into the released snapshot. */
export async function release(root = ROOT): Promise<void> {
  const { stderr, code } = await buf(["build", "proto", "--exclude-source-info", "-o", join(root, RELEASED)], root);
  if (code !== 0) throw new Error(`buf build failed: ${stderr}`);
}

if (import.meta.main) {
  const [command] = process.argv.slice(2);
  if (command === "release") {
    await release();
    console.log(`wrote ${RELEASED}: proto/ as it is now is the released contracts`);
  } else if (command === "breaking") {
    const changes = await breakingChanges();
    for (const c of changes) console.log(`${c.path}:${c.line}: ${c.message} (${c.type})`);
    if (changes.length) {
      console.log(`\n${changes.length} breaking change(s) against ${RELEASED}. Fix them, or release on purpose.`);
      process.exit(1);
    }
    console.log(`no breaking change against ${RELEASED}`);
  } else {
    console.error("usage: bun cli/contracts.ts release | breaking");
    process.exit(2);
  }
}
