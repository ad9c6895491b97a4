import { Kvm, type KV, type KvEntry } from "@nats-io/kv";
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { isNotFound } from "../events/topology/streams";
import type { Logger } from "../log";
import {
  applyOverrides,
  DEFAULT_POLICY_SETTINGS,
  parsePolicyOverrides,
  type PolicyOverrides,
  type PolicySettings,
} from "./policy-settings";

/** Where the policy settings per target service come from; `onChange` fires when one changes while running. */
export interface PolicySource {
  settingsFor(target: string): PolicySettings;
  onChange(listener: (target: string) => void): void;
  /** Resolves once the initial settings are loaded (or loading gave up and defaults apply). */
  readonly ready: Promise<void>;
  stop(): Promise<void>;
}

/** Defaults, with fixed overrides per target laid over them (tests, CLIs). */
export function staticPolicies(
  overrides: Record<string, PolicyOverrides> = {},
  base: PolicyOverrides = {},
): PolicySource {
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
 * laid over the defaults in code. Every change reaches the running process; a value that does not
 * parse is logged and ignored (the previous settings stay); a deleted key means defaults.
 *
 * Changes are followed without a JetStream consumer (on a platform with identities a service may create
 * none): a plain subscription to the bucket's subjects says which key changed, and the key's value is
 * then read from the bucket, whose revision decides what is newer. The keys are read at start (from the
 * stream's subjects) and again after each reconnect, for changes made while the connection was down.
 *
 * Services never create the bucket (`bun run cli policies set ...` does): until it exists the defaults
 * apply; the subscription is there from the start, so a bucket created later reaches running services.
 *
 * @example
 *   bun run cli policies set payment '{"breaker":{"failureRateThreshold":0.2}}'
 */
export function kvPolicies(
  nc: NatsConnection,
  {
    bucket,
    log,
    base = {},
    loadTimeoutMs = 3000,
    retryMs = 5000,
  }: { bucket: string; log: Logger; base?: PolicyOverrides; loadTimeoutMs?: number; retryMs?: number },
): PolicySource {
  const byTarget = new Map<string, { revision: number; overrides?: PolicyOverrides }>();
  const listeners: ((target: string) => void)[] = [];
  const keyPrefix = `$KV.${bucket}.`;
  let stopped = false;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let kv: Promise<KV> | undefined;

  const apply = (entry: KvEntry, via: "load" | "change") => {
    const known = byTarget.get(entry.key);
    if (known && known.revision >= entry.revision) return;
    if (entry.operation !== "PUT") {
      byTarget.set(entry.key, { revision: entry.revision });
      log.info({ bucket, target: entry.key, revision: entry.revision }, "policy settings removed; defaults apply");
    } else {
      const parsed = parsePolicyOverrides(entry.string());
      if ("problems" in parsed) {
        log.warn(
          { bucket, target: entry.key, revision: entry.revision, problems: parsed.problems },
          "policy settings rejected; the previous ones stay",
        );
        return;
      }
      byTarget.set(entry.key, { revision: entry.revision, overrides: parsed.overrides });
      log.info(
        { bucket, target: entry.key, revision: entry.revision, overrides: parsed.overrides, via },
        "policy settings applied",
      );
    }
    for (const l of listeners) l(entry.key);
  };

  /** Reads one key's current value and applies it if it is newer than what is known. */
  const refresh = async (key: string, via: "load" | "change") => {
    const entry = await (await (kv ??= new Kvm(nc).open(bucket))).get(key);
    if (entry) apply(entry, via);
  };

  /** Reads every key; false when the bucket does not exist (yet). */
  const load = async (): Promise<boolean> => {
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(`KV_${bucket}`, { subjects_filter: `${keyPrefix}>` }).catch((e) => {
      if (isNotFound(e)) return undefined;
      throw e;
    });
    if (!info) return false;
    for (const subject of Object.keys(info.state.subjects ?? {}))
      await refresh(subject.slice(keyPrefix.length), "load");
    log.info({ bucket, targets: [...byTarget.keys()] }, "policy settings loaded; watching for changes");
    return true;
  };

  const loadLater = () => {
    if (stopped) return;
    clearTimeout(retryTimer);
    retryTimer = setTimeout(() => void load().catch(loadLater), retryMs);
    retryTimer.unref?.();
  };

  // Subscribed before the first read: a change between the two is seen here, and the revision check
  // drops whatever arrives twice.
  const changes = nc.subscribe(`${keyPrefix}>`, {
    callback: (err, m) => {
      if (err)
        return void log.warn(
          { bucket, err: err.message },
          "policy settings subscription failed; changes are not followed",
        );
      void refresh(m.subject.slice(keyPrefix.length), "change").catch((e) => {
        log.warn(
          { bucket, err: e instanceof Error ? e.message : String(e) },
          "policy settings change not read; reading every key again later",
        );
        loadLater();
      });
    },
  });
  void (async () => {
    for await (const status of nc.status()) {
      if (stopped) break;
      if (status.type === "reconnect") void load().catch(loadLater);
    }
  })();

  const ready = (async () => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const found = await Promise.race([
        load(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${loadTimeoutMs} ms`)), loadTimeoutMs);
        }),
      ]);
      if (!found) log.info({ bucket }, "no policy settings bucket; defaults apply until it is created");
    } catch (e) {
      log.warn(
        { bucket, err: e instanceof Error ? e.message : String(e) },
        "policy settings bucket unavailable; defaults apply",
      );
      loadLater();
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
      if (!nc.isClosed()) changes.unsubscribe();
    },
  };
}
