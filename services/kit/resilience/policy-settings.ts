import type { LoadBalancing } from "../discovery/picker";

/** Everything the policies for one target service can be tuned by. Defaults below; overrides per target live in NATS KV. */
export interface PolicySettings {
  /** How long one attempt may take; the caller's remaining deadline shortens it. */
  attemptTimeoutMs: number;
  retry: {
    /** Retries after the first attempt (0: never retry). */
    maxRetries: number;
    /** Scale of the exponential backoff with decorrelated jitter between attempts. */
    initialDelayMs: number;
    maxDelayMs: number;
  };
  breaker: {
    /** Open when more than this share of the attempts in the window failed (0 < x < 1). */
    failureRateThreshold: number;
    /** The sliding window the failure rate is taken over. */
    windowMs: number;
    /** No opening on fewer attempts than this in the window. */
    minimumCalls: number;
    /** How long the breaker stays open before letting probes through (half-open). */
    halfOpenAfterMs: number;
    /** How many probe calls a half-open breaker lets through; one failure among them opens it again. */
    halfOpenCalls: number;
  };
  bulkhead: {
    /** Calls to the target in flight at once from this process. */
    maxConcurrent: number;
    /** Calls waiting for a slot; beyond that, rejected at once. */
    maxQueued: number;
  };
  /** How an instance is chosen. */
  loadBalancing: LoadBalancing;
  /** How long a failing instance stays out of rotation: doubling from baseMs, at most maxMs. */
  ejection: { baseMs: number; maxMs: number };
}

export const DEFAULT_POLICY_SETTINGS: PolicySettings = Object.freeze({
  attemptTimeoutMs: 5000,
  retry: { maxRetries: 2, initialDelayMs: 100, maxDelayMs: 2000 },
  breaker: { failureRateThreshold: 0.5, windowMs: 10_000, minimumCalls: 10, halfOpenAfterMs: 5000, halfOpenCalls: 1 },
  bulkhead: { maxConcurrent: 64, maxQueued: 256 },
  loadBalancing: "p2c",
  ejection: { baseMs: 1000, maxMs: 30_000 },
}) as PolicySettings;

export type PolicyOverrides = {
  [K in keyof PolicySettings]?: PolicySettings[K] extends object ? Partial<PolicySettings[K]> : PolicySettings[K];
};

type Rule =
  { kind: "int"; min: number; max: number } | { kind: "ratio" } | { kind: "oneOf"; values: readonly string[] };
const int = (min: number, max: number): Rule => ({ kind: "int", min, max });

const RULES: Record<string, Rule | Record<string, Rule>> = {
  attemptTimeoutMs: int(1, 600_000),
  retry: { maxRetries: int(0, 10), initialDelayMs: int(1, 60_000), maxDelayMs: int(1, 600_000) },
  breaker: {
    failureRateThreshold: { kind: "ratio" },
    windowMs: int(1000, 3_600_000),
    minimumCalls: int(1, 1_000_000),
    halfOpenAfterMs: int(1, 3_600_000),
    halfOpenCalls: int(1, 1000),
  },
  bulkhead: { maxConcurrent: int(1, 100_000), maxQueued: int(0, 1_000_000) },
  loadBalancing: { kind: "oneOf", values: ["p2c", "round-robin"] },
  ejection: { baseMs: int(1, 3_600_000), maxMs: int(1, 3_600_000) },
};

function check(path: string, rule: Rule, value: unknown): string | undefined {
  switch (rule.kind) {
    case "int":
      return Number.isInteger(value) && (value as number) >= rule.min && (value as number) <= rule.max
        ? undefined
        : `${path} must be an integer in ${rule.min}..${rule.max}, got ${JSON.stringify(value)}`;
    case "ratio":
      return typeof value === "number" && value > 0 && value < 1
        ? undefined
        : `${path} must be a number between 0 and 1 (exclusive), got ${JSON.stringify(value)}`;
    case "oneOf":
      return rule.values.includes(value as string)
        ? undefined
        : `${path} must be one of ${rule.values.join(", ")}, got ${JSON.stringify(value)}`;
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Checks overrides as stored in KV (JSON): every key known, every value in range. Returns every problem
 * at once, by path (`breaker.failureRateThreshold must be ...`), or the overrides.
 */
export function parsePolicyOverrides(raw: string): { overrides: PolicyOverrides } | { problems: string[] } {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (e) {
    return { problems: [`not JSON: ${e instanceof Error ? e.message : e}`] };
  }
  if (!isRecord(value)) return { problems: ["must be a JSON object"] };
  const problems: string[] = [];
  for (const [key, v] of Object.entries(value)) {
    const rule = RULES[key];
    if (!rule) problems.push(`${key} is not a setting (known: ${Object.keys(RULES).join(", ")})`);
    else if ("kind" in rule) {
      const p = check(key, rule as Rule, v);
      if (p) problems.push(p);
    } else if (!isRecord(v)) problems.push(`${key} must be an object`);
    else
      for (const [sub, sv] of Object.entries(v)) {
        const subRule = (rule as Record<string, Rule>)[sub];
        if (!subRule)
          problems.push(
            `${key}.${sub} is not a setting (known: ${Object.keys(rule)
              .map((k) => `${key}.${k}`)
              .join(", ")})`,
          );
        else {
          const p = check(`${key}.${sub}`, subRule, sv);
          if (p) problems.push(p);
        }
      }
  }
  if (problems.length) return { problems };
  const merged = applyOverrides(DEFAULT_POLICY_SETTINGS, value as PolicyOverrides);
  if (merged.retry.maxDelayMs < merged.retry.initialDelayMs)
    problems.push("retry.maxDelayMs must be at least retry.initialDelayMs");
  if (merged.ejection.maxMs < merged.ejection.baseMs) problems.push("ejection.maxMs must be at least ejection.baseMs");
  return problems.length ? { problems } : { overrides: value as PolicyOverrides };
}

/** `base` with `overrides` laid over it, one level deep. */
export function applyOverrides(base: PolicySettings, ...layers: (PolicyOverrides | undefined)[]): PolicySettings {
  const out = structuredClone(base) as unknown as Record<string, unknown>;
  for (const layer of layers) {
    if (!layer) continue;
    for (const [key, value] of Object.entries(layer)) {
      out[key] = isRecord(value) ? { ...(out[key] as Record<string, unknown>), ...value } : value;
    }
  }
  return out as unknown as PolicySettings;
}
