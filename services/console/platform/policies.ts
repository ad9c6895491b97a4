import { Kvm, type KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import {
  applyOverrides,
  DEFAULT_POLICY_SETTINGS,
  parsePolicyOverrides,
  type PolicyOverrides,
  type PolicySettings,
} from "../../kit/resilience";

export interface TargetPolicy {
  target: string;
  /** What is stored for it (none: the defaults). */
  overrides?: PolicyOverrides;
  /** What callers apply: the defaults with the overrides over them. */
  settings: PolicySettings;
  revision?: number;
}

export const TARGET = /^[a-z][a-z0-9-]*$/;

/**
 * The resilience policies in the KV bucket services watch, read key by key (the console's identity
 * reads values, it lists no keys) and written as `bun run cli policies set` writes them: checked by
 * the same parsePolicyOverrides first.
 */
export class PolicyStore {
  constructor(
    private readonly reader: NatsConnection,
    private readonly bucket: string,
    /** The connection writes go through (the operator's, when the console holds its key). */
    private readonly writer: NatsConnection = reader,
    /** Copies of the bucket when a first write creates it: one per NATS node, like every stream. */
    private readonly replicas = 1,
  ) {}

  async #open(nc: NatsConnection, create: boolean): Promise<KV | undefined> {
    const kvm = new Kvm(nc);
    if (create) return kvm.create(this.bucket, { history: 5, replicas: this.replicas });
    try {
      const kv = await kvm.open(this.bucket);
      await kv.status();
      return kv;
    } catch {
      return undefined;
    }
  }

  async get(target: string): Promise<TargetPolicy> {
    const kv = await this.#open(this.reader, false);
    const entry = await kv?.get(target).catch(() => null);
    let overrides: PolicyOverrides | undefined;
    if (entry && entry.operation === "PUT") {
      const parsed = parsePolicyOverrides(entry.string());
      if ("overrides" in parsed) overrides = parsed.overrides;
    }
    return {
      target,
      ...(overrides ? { overrides, revision: entry!.revision } : {}),
      settings: applyOverrides(DEFAULT_POLICY_SETTINGS, overrides),
    };
  }

  /** Stores overrides for a target, or says why not (the CLI's messages). */
  async set(
    target: string,
    json: string,
  ): Promise<{ problems: string[] } | { revision: number; overrides: PolicyOverrides }> {
    if (!TARGET.test(target)) return { problems: [`"${target}" is not a service name (lower-case, e.g. payment)`] };
    const parsed = parsePolicyOverrides(json);
    if ("problems" in parsed) return { problems: parsed.problems };
    const kv = (await this.#open(this.writer, true))!;
    const revision = await kv.put(target, JSON.stringify(parsed.overrides));
    return { revision, overrides: parsed.overrides };
  }

  /** Back to the defaults. */
  async delete(target: string): Promise<void> {
    const kv = await this.#open(this.writer, false);
    if (kv) await kv.delete(target);
  }
}
