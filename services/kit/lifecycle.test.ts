import { expect, test } from "bun:test";
import { Lifecycle } from "./lifecycle";
import { createLogger } from "./log";

const quiet = createLogger("lifecycle-test", "silent");

test("unwinds in reverse order of start, each part once, and tells the stops how the life ended", async () => {
  const life = new Lifecycle(quiet);
  const stopped: string[] = [];
  for (const part of ["nats", "database", "listeners"])
    life.started(part, part, (p, ending) => void stopped.push(`${p}:${ending.graceful}`));
  expect(life.parts).toEqual(["nats", "database", "listeners"]);
  await Promise.all([life.unwind({ graceful: true }), life.unwind({ graceful: false })]);
  await life.unwind({ graceful: true });
  expect(stopped).toEqual(["listeners:true", "database:true", "nats:true"]);
  expect(life.parts).toEqual([]);
});

test("a stop that throws does not keep the parts started before it running", async () => {
  const life = new Lifecycle(quiet);
  const stopped: string[] = [];
  life.started("nats", null, () => void stopped.push("nats"));
  life.started("events", null, () => {
    throw new Error("stream gone");
  });
  life.started("listeners", null, async () => {
    await Promise.resolve();
    stopped.push("listeners");
  });
  await life.unwind({ graceful: false });
  expect(stopped).toEqual(["listeners", "nats"]);
});

test("a part cannot start once the process is stopping", async () => {
  const life = new Lifecycle(quiet);
  await life.unwind({ graceful: true });
  expect(() => life.started("late", null, () => {})).toThrow(/late started while the process is stopping/);
});
