import { Kvm, type KV, type KvEntry } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "../log";
import { applyOverrides, DEFAULT_POLICY_SETTINGS, parsePolicyOverrides, type PolicyOverrides, type PolicySettings } from "./policy-settings";

/** Where the policy settings per target service come from; `onChange` fires when one changes while running. */
export interface PolicySource {
  settingsFor(target: string): PolicySettings;
  onChange(listener: (target: string) => void): void;
  /** Resolves once the initial settings are loaded (or loading gave up and defaults apply). */
  readonly ready: Promise<void>;
  stop(): Promise<void>;
}

/** Defaults, with fixed overrides per target laid over them (tests, CLIs). */
export function staticPolicies(overrides: Record<string, PolicyOverrides> = {}, base: PolicyOverrides = {}): PolicySource {
  return {
    settingsFor: (target) => applyOverrides(DEFAULT_POLICY_SETTINGS, base, overrides[target]),
    onChange: () => {},
    ready: Promise.resolve(),
    stop: async () => {},
  };
}

/**
 * Policy settings from a NATS KV bucket: one key per target service (`payment`, `customer`, ...) holding
 * a JSON object of overrides, e.g. `{"breaker":{"failureRateThreshold":0.2},"retry":{"maxRetries":1}}`,
 * laid over the defaults in code. A watch applies every change to the running process; a value that
 * does not parse is logged and ignored (the previous settings stay); a deleted key means defaults.
 *
 * Services never create the bucket (`bun cli/policies.ts set ...` does): until it exists the defaults
 * apply, and it is looked for again every `retryMs`, so creating it later reaches running services too.
 *
 * @example
 *   bun cli/policies.ts set payment '{"breaker":{"failureRateThreshold":0.2}}'
 */
export function kvPolicies(
  nc: NatsConnection,
  { bucket, log, base = {}, loadTimeoutMs = 3000, retryMs = 5000 }: { bucket: string; log: Logger; base?: PolicyOverrides; loadTimeoutMs?: number; retryMs?: number },
): PolicySource {
  const byTarget = new Map<string, { revision: number; overrides?: PolicyOverrides }>();
  const listeners: ((target: string) => void)[] = [];
  let stopped = false;
  let stopWatch: (() => void) | undefined;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let attached = false;

  const apply = (entry: KvEntry, via: "load" | "watch") => {
    const known = byTarget.get(entry.key);
    if (known && known.revision >= entry.revision) return;
    if (entry.operation !== "PUT") {
      byTarget.set(entry.key, { revision: entry.revision });
      log.info({ bucket, target: entry.key, revision: entry.revision }, "policy settings removed; defaults apply");
    } else {
      const parsed = parsePolicyOverrides(entry.string());
      if ("problems" in parsed) {
        log.warn({ bucket, target: entry.key, revision: entry.revision, problems: parsed.problems }, "policy settings rejected; the previous ones stay");
        return;
      }
      byTarget.set(entry.key, { revision: entry.revision, overrides: parsed.overrides });
      log.info({ bucket, target: entry.key, revision: entry.revision, overrides: parsed.overrides, via }, "policy settings applied");
    }
    for (const l of listeners) l(entry.key);
  };

  /** Loads and watches the bucket; false when it does not exist (yet). */
  const attach = async (): Promise<boolean> => {
    if (attached || stopped) return true;
    const kv: KV = await new Kvm(nc).open(bucket);
    try {
      await kv.status();
    } catch (e) {
      if ((e as { api_error?: { err_code?: number } }).api_error?.err_code === 10059 || /stream not found/.test(String(e))) return false;
      throw e;
    }
    // Watch first, then read what is there: a change between the two is seen by the watch, and the
    // revision check drops whatever arrives twice.
    const watch = await kv.watch({ include: "updates" });
    attached = true;
    stopWatch = () => watch.stop();
    void (async () => {
      for await (const entry of watch) apply(entry, "watch");
    })()
      .catch((e) => log.warn({ bucket, err: e instanceof Error ? e.message : String(e) }, "policy settings watch failed"))
      .finally(() => {
        // The bucket went away (or NATS did): the settings stay, and we look for it again.
        attached = false;
        if (!stopped) later();
      });
    for await (const key of await kv.keys()) {
      const entry = await kv.get(key);
      if (entry) apply(entry, "load");
    }
    log.info({ bucket, targets: [...byTarget.keys()] }, "policy settings loaded; watching for changes");
    return true;
  };

  const later = () => {
    if (stopped) return;
    retryTimer = setTimeout(() => {
      attach().then(
        (found) => found || later(),
        () => later(),
      );
    }, retryMs);
    retryTimer.unref?.();
  };

  const ready = (async () => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const found = await Promise.race([
        attach(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${loadTimeoutMs} ms`)), loadTimeoutMs);
        }),
      ]);
      if (!found) {
        log.info({ bucket }, "no policy settings bucket; defaults apply until it is created");
        later();
      }
    } catch (e) {
      log.warn({ bucket, err: e instanceof Error ? e.message : String(e) }, "policy settings bucket unavailable; defaults apply");
      later();
    } finally {
      clearTimeout(timer);
    }
  })();

  return {
    settingsFor: (target) => applyOverrides(DEFAULT_POLICY_SETTINGS, base, byTarget.get(target)?.overrides),
    onChange: (listener) => void listeners.push(listener),
    ready,
    async stop() {
      stopped = true;
      clearTimeout(retryTimer);
      stopWatch?.();
    },
  };
}
