/** An instance as the picker sees it: its id and how many calls to it are in flight from this process. */
export interface Candidate {
  readonly id: string;
  readonly outstanding: number;
}

/** Chooses one of a non-empty list of candidates. */
export type Picker = <C extends Candidate>(candidates: readonly C[]) => C;

export type LoadBalancing = "p2c" | "round-robin";

export function createPicker(kind: LoadBalancing, random: () => number = Math.random): Picker {
  return kind === "round-robin" ? roundRobin() : powerOfTwoChoices(random);
}

/**
 * True round-robin: each pick takes the next instance by id after the previous pick. Keyed by id rather
 * than by position, so instances coming and going (or being skipped for a retry) do not make it pick the
 * same instance twice in a row or skip one.
 */
export function roundRobin(): Picker {
  let last: string | undefined;
  return (candidates) => {
    if (candidates.length === 0) throw new Error("no candidates to pick from");
    const sorted = [...candidates].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const next = (last === undefined ? undefined : sorted.find((c) => c.id > last!)) ?? sorted[0]!;
    last = next.id;
    return next;
  };
}

/**
 * Power of two choices: two distinct instances at random, the one with fewer calls in flight wins (the
 * first drawn on a tie). Nearly as good as asking every instance, without herding onto the one that
 * looked least loaded a moment ago; a slow instance piles up calls in flight and stops being chosen.
 */
export function powerOfTwoChoices(random: () => number = Math.random): Picker {
  return (candidates) => {
    const n = candidates.length;
    if (n === 0) throw new Error("no candidates to pick from");
    if (n === 1) return candidates[0]!;
    const i = Math.min(n - 1, Math.floor(random() * n));
    let j = Math.min(n - 2, Math.floor(random() * (n - 1)));
    if (j >= i) j++;
    const a = candidates[i]!;
    const b = candidates[j]!;
    return b.outstanding < a.outstanding ? b : a;
  };
}
