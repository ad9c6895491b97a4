// `bun run cli k8s`: writes the platform's Kubernetes manifests to deploy/k8s/ (generated from cli/k8s/,
// which follows services/platform/communication.ts); `--check` writes nothing and fails when a committed
// file differs from what would be written, or one is missing or left over.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { K8S_DIR, manifestFiles } from "./k8s/manifest-files";

const ROOT = join(import.meta.dir, "..");

/** The files that differ from what the generator makes: stale, missing or left over. */
export function staleManifests(dir = join(ROOT, K8S_DIR)): string[] {
  const want = manifestFiles();
  const have = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".yaml")) : [];
  return [
    ...Object.entries(want)
      .filter(([f, text]) => !existsSync(join(dir, f)) || readFileSync(join(dir, f), "utf8") !== text)
      .map(([f]) => f),
    ...have.filter((f) => !(f in want)),
  ].sort();
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const dir = join(ROOT, K8S_DIR);
  if (args.some((a) => a !== "--check")) {
    console.error("usage: bun run cli k8s [--check]");
    process.exit(2);
  }
  const stale = staleManifests(dir);
  if (args.includes("--check")) {
    if (stale.length) {
      console.error(`k8s: stale in ${K8S_DIR}: ${stale.join(", ")} (run bun run cli k8s)`);
      process.exit(1);
    }
    console.log(`k8s: ${K8S_DIR} is up to date`);
  } else {
    mkdirSync(dir, { recursive: true });
    const want = manifestFiles();
    for (const f of stale) {
      if (f in want) writeFileSync(join(dir, f), want[f]!);
      else rmSync(join(dir, f));
    }
    console.log(`k8s: ${stale.length ? `wrote ${stale.join(", ")}` : "nothing to change"} in ${K8S_DIR}`);
  }
}
