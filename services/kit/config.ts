/**
 * Config from the environment, parsed once at start. Every bad variable is reported at once, by name.
 *
 * @example
 * const cfg = readConfig({ PORT: port(8080), NATS_URL: url("nats://127.0.0.1:4222") });
 */
export type Env = Record<string, string | undefined>;

export interface Setting<T> {
  readonly fallback: T | undefined;
  parse(raw: string): T;
  /** Shown in the error when the value does not parse. */
  readonly expected: string;
  /** A secret: its value is never quoted in an error. */
  readonly sensitive?: boolean;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join("\n  ")}`);
    this.name = "ConfigError";
  }
}

type Parsed<S> = { [K in keyof S]: S[K] extends Setting<infer T> ? T : never };

export function readConfig<S extends Record<string, Setting<unknown>>>(
  spec: S,
  env: Env = process.env,
  /** Names to report instead of the spec's keys, when the variable is spelled differently. */
  aliases: Partial<Record<keyof S, string>> = {},
): Parsed<S> {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const [key, setting] of Object.entries(spec)) {
    const name = aliases[key] ?? key;
    const raw = env[key];
    if (raw === undefined || raw === "") {
      if (setting.fallback === undefined) problems.push(`${name} is required (${setting.expected})`);
      else out[key] = setting.fallback;
      continue;
    }
    try {
      out[key] = setting.parse(raw);
    } catch (e) {
      const why = e instanceof Error && e.message ? `: ${e.message}` : "";
      // A secret is never quoted, and a URL never with its credentials.
      problems.push(
        setting.sensitive
          ? `${name} is not ${setting.expected}${why}`
          : `${name}=${JSON.stringify(maskCredentials(raw))} is not ${setting.expected}${why}`,
      );
    }
  }
  if (problems.length) throw new ConfigError(problems);
  return out as Parsed<S>;
}

function setting<T>(expected: string, parse: (raw: string) => T, fallback?: T): Setting<T> {
  return { expected, parse, fallback };
}

/** A TCP port; 0 asks the OS for a free one. */
export const port = (fallback?: number) =>
  setting(
    "a port (0-65535)",
    (raw) => {
      if (!/^\d+$/.test(raw) || Number(raw) > 65535) throw new Error("");
      return Number(raw);
    },
    fallback,
  );

export const integer = (fallback: number | undefined, { min = 0, max = Number.MAX_SAFE_INTEGER } = {}) =>
  setting(
    `an integer in ${min}..${max}`,
    (raw) => {
      const n = Number(raw);
      if (!/^-?\d+$/.test(raw) || n < min || n > max) throw new Error("");
      return n;
    },
    fallback,
  );

export const text = (fallback?: string) => setting("a string", (raw) => raw, fallback);

export const oneOf = <T extends string>(values: readonly T[], fallback?: T) =>
  setting(
    `one of ${values.join(", ")}`,
    (raw) => {
      if (!values.includes(raw as T)) throw new Error("");
      return raw as T;
    },
    fallback,
  );

export const url = (fallback?: string, protocols?: string[]) =>
  setting(
    `a URL${protocols ? ` (${protocols.join(" or ")})` : ""}`,
    (raw) => {
      for (const one of raw.split(",")) {
        const u = new URL(one.trim());
        if (protocols && !protocols.includes(u.protocol.replace(/:$/, ""))) throw new Error(`scheme ${u.protocol}`);
      }
      return raw;
    },
    fallback,
  );

/** A URL (or a comma-separated list of them) with any password in it replaced by "***", for logs and errors. */
export function maskCredentials(raw: string): string {
  return raw.replace(/(\w[\w+.-]*:\/\/[^:@/\s,]*:)[^@/\s,]*@/g, "$1***@");
}

/** Words that say a value was never replaced (deploy/compose.env.example's are such). */
const PLACEHOLDER = /change.?me|replace|example|placeholder|secret|password|default|dummy|xxxx/i;

/**
 * A secret the service refuses unless it is long and unpredictable enough: at least `minChars`, at least
 * `minBits` of estimated entropy (the characters' Shannon entropy times the length), and nothing that
 * reads like a placeholder left from an example file. The value is never quoted in an error.
 */
export const secret = ({ minChars, minBits }: { minChars: number; minBits: number }): Setting<string> => ({
  fallback: undefined,
  sensitive: true,
  expected: `a random secret of at least ${minChars} characters (e.g. openssl rand -hex 32)`,
  parse(raw) {
    if (raw.length < minChars) throw new Error(`it is too short (${raw.length} characters; at least ${minChars})`);
    if (PLACEHOLDER.test(raw)) throw new Error("it reads like a placeholder from an example file");
    const bits = entropyBits(raw);
    if (bits < minBits)
      throw new Error(`it is too predictable (about ${Math.round(bits)} bits of entropy; at least ${minBits})`);
    return raw;
  },
});

/** The string's length times the Shannon entropy of its characters: an upper bound on how unpredictable it is. */
export function entropyBits(s: string): number {
  const counts = new Map<string, number>();
  for (const c of s) counts.set(c, (counts.get(c) ?? 0) + 1);
  let perChar = 0;
  for (const n of counts.values()) perChar -= (n / s.length) * Math.log2(n / s.length);
  return perChar * s.length;
}
