import { afterEach, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { DirectoryInUseError, isLiveProcess, lockDirectory } from "./directory-lock";

const dirs: string[] = [];
const folder = () => {
  const d = mkdtempSync(join(tmpdir(), "lock-"));
  dirs.push(d);
  return join(d, "pglite");
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

test("one holder at a time: a lock held by a live process is refused with its pid; released, it is free again", async () => {
  const dir = folder();
  // Another live process holds it.
  const other = Bun.spawn(["sleep", "30"]);
  try {
    writeFileSync(`${dir}.lock`, `${other.pid} ${hostname()}\n`);
    expect(() => lockDirectory(dir)).toThrow(DirectoryInUseError);
    expect(() => lockDirectory(dir)).toThrow(`${dir} is in use by process ${other.pid}`);
  } finally {
    other.kill("SIGKILL");
    await other.exited;
  }
  // Its holder is gone (killed): the lock is stale and taken over.
  expect(isLiveProcess(other.pid)).toBe(false);
  const lock = lockDirectory(dir);
  expect(lock.tookOverFrom).toBe(other.pid);
  expect(readFileSync(`${dir}.lock`, "utf8")).toBe(`${process.pid} ${hostname()}\n`);
  lock.release();
  lock.release();
  expect(existsSync(`${dir}.lock`)).toBe(false);
  const again = lockDirectory(dir);
  expect(again.tookOverFrom).toBeUndefined();
  again.release();
});

test("a lock naming this process's own pid that it does not hold is a previous life's; another host's is never taken", () => {
  const dir = folder();
  // A container's pid 1 restarted: the lock of the process before it names the same pid.
  writeFileSync(`${dir}.lock`, `${process.pid} ${hostname()}\n`);
  const lock = lockDirectory(dir);
  expect(lock.tookOverFrom).toBe(process.pid);
  // Held now: the same process asking again is refused (one open per folder).
  expect(() => lockDirectory(dir)).toThrow(DirectoryInUseError);
  lock.release();

  writeFileSync(`${dir}.lock`, `4242 elsewhere\n`);
  expect(() => lockDirectory(dir, { alive: () => false })).toThrow(
    `${dir} is in use by process 4242 on host elsewhere (if that host is gone, remove ${dir}.lock)`,
  );
});
