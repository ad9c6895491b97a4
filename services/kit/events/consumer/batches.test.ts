import { expect, test } from "bun:test";
import { batches } from "./batches";

/** A run whose batches end when the test says. */
function heldRun() {
  const started: { items: number[]; finish(fail?: Error): void }[] = [];
  const run = (items: number[]) =>
    new Promise<void>((resolve, reject) => {
      started.push({ items, finish: (fail) => (fail ? reject(fail) : resolve()) });
    });
  return { started, run };
}

const turn = () => new Promise<void>((r) => setImmediate(r));

test("items of one turn go together, up to max; the rest wait for a free place and then go together", async () => {
  const { started, run } = heldRun();
  const add = batches(run, { max: 3, parallel: 2 });
  const settled: number[] = [];
  for (let i = 0; i < 8; i++) void add(i).then(() => settled.push(i));
  await turn();
  expect(started.map((b) => b.items)).toEqual([
    [0, 1, 2],
    [3, 4, 5],
  ]);
  // Both places taken: what comes now waits, however long.
  void add(8).then(() => settled.push(8));
  await turn();
  expect(started).toHaveLength(2);
  started[1]!.finish();
  await turn();
  expect(settled.sort()).toEqual([3, 4, 5]);
  expect(started[2]!.items).toEqual([6, 7, 8]);
});

test("under light load each item goes at once, alone", async () => {
  const { started, run } = heldRun();
  const add = batches(run, { max: 10, parallel: 2 });
  const first = add(1);
  await turn();
  expect(started.map((b) => b.items)).toEqual([[1]]);
  started[0]!.finish();
  await first;
  void add(2);
  await turn();
  expect(started.map((b) => b.items)).toEqual([[1], [2]]);
});

test("a batch that fails rejects each of its items with its error, and the next batch still runs", async () => {
  const { started, run } = heldRun();
  const add = batches(run, { max: 2, parallel: 1 });
  const outcomes = [1, 2, 3].map((i) =>
    add(i).then(
      () => "ok",
      (e: Error) => e.message,
    ),
  );
  await turn();
  started[0]!.finish(new Error("rolled back"));
  await turn();
  expect(started[1]!.items).toEqual([3]);
  started[1]!.finish();
  expect(await Promise.all(outcomes)).toEqual(["rolled back", "rolled back", "ok"]);
});
