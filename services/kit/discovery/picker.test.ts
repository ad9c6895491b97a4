import { describe, expect, test } from "bun:test";
import { powerOfTwoChoices, roundRobin } from "./picker";

const instances = (...outstanding: number[]) => outstanding.map((o, i) => ({ id: `i${i}`, outstanding: o }));

describe("round-robin", () => {
  test("takes every instance in turn, whatever their load", () => {
    const pick = roundRobin();
    const list = instances(5, 0, 9);
    expect(Array.from({ length: 7 }, () => pick(list).id)).toEqual(["i0", "i1", "i2", "i0", "i1", "i2", "i0"]);
  });

  test("goes on after the previous pick when the list changes, by id, not by position", () => {
    const pick = roundRobin();
    const all = instances(0, 0, 0, 0);
    expect(pick(all).id).toBe("i0");
    expect(pick(all).id).toBe("i1");
    // i2 is skipped (ejected, or already tried by this call): the next one after i1 is i3.
    expect(pick(all.filter((c) => c.id !== "i2")).id).toBe("i3");
    // A new instance that sorts before the others is reached on the wrap-around.
    expect(pick([{ id: "a-new", outstanding: 0 }, ...all]).id).toBe("a-new");
    expect(pick([...all].reverse()).id).toBe("i0");
  });

  test("a single instance is always picked; none is an error", () => {
    const pick = roundRobin();
    expect(pick(instances(3)).id).toBe("i0");
    expect(pick(instances(3)).id).toBe("i0");
    expect(() => pick([])).toThrow();
  });
});

describe("power of two choices", () => {
  test("of the two drawn, the one with fewer calls in flight wins", () => {
    // random() = 0 draws index 0, then index 0 of the remaining (i.e. 1).
    const pick = powerOfTwoChoices(() => 0);
    expect(pick(instances(3, 1, 0)).id).toBe("i1");
    expect(pick(instances(1, 3, 0)).id).toBe("i0");
  });

  test("the two drawn are always distinct", () => {
    const draws = [0.99, 0.99];
    const pick = powerOfTwoChoices(() => draws.shift() ?? 0);
    // first draw: i2 (busy); second: index 1 of the others, moved past i2's slot → stays i1.
    expect(pick(instances(0, 0, 7)).id).toBe("i1");
  });

  test("a tie keeps the first drawn, so equal instances share the load", () => {
    let seed = 1;
    const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
    const pick = powerOfTwoChoices(random);
    const counts = new Map<string, number>();
    const list = instances(0, 0, 0);
    for (let n = 0; n < 3000; n++) {
      const id = pick(list).id;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    expect(counts.size).toBe(3);
    for (const c of counts.values()) expect(c).toBeGreaterThan(800);
  });

  test("the instance with the most calls in flight is never picked (round-robin would give it a third)", () => {
    let seed = 7;
    const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
    const pick = powerOfTwoChoices(random);
    const list = [
      { id: "slow", outstanding: 4 },
      { id: "a", outstanding: 1 },
      { id: "b", outstanding: 2 },
    ];
    const slow = Array.from({ length: 1000 }, () => pick(list).id).filter((id) => id === "slow").length;
    expect(slow).toBe(0);
    const rr = roundRobin();
    expect(Array.from({ length: 999 }, () => rr(list).id).filter((id) => id === "slow").length).toBe(333);
  });

  test("one candidate is picked without drawing; none is an error", () => {
    const pick = powerOfTwoChoices(() => {
      throw new Error("must not draw");
    });
    expect(pick(instances(9)).id).toBe("i0");
    expect(() => pick([])).toThrow();
  });
});
