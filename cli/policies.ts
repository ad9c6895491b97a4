// `bun cli/policies.ts`: the resilience policy settings in NATS KV (RESILIENCE_POLICY_BUCKET, default
// <PLATFORM_NAMESPACE>_policies: shop_policies), one key per target service. Running services watch the bucket and apply a change at once.
// The first `set` creates the bucket with STREAM_REPLICAS copies (3 on a cluster), as the streams are.
//   list                     every target with overrides, and the defaults
//   get <target>             the settings in force for calls to <target> (defaults + overrides)
//   set <target> '<json>'    store overrides, e.g. '{"breaker":{"failureRateThreshold":0.2}}' (checked first)
//   delete <target>          back to the defaults
import { listInstances, namespaceOf, platformNamespace, policyBucketOf } from "../services/kit/nats";
import { PLATFORM } from "../services/platform/communication";
import { Kvm, type KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { ConfigError, integer, readConfig, text } from "../services/kit";
import { natsUrlSetting, runOperatorCommand, withOperatorNats } from "./operator-nats";
import { applyOverrides, DEFAULT_POLICY_SETTINGS, parsePolicyOverrides } from "../services/kit/resilience";

const USAGE = "usage: bun cli/policies.ts list | get <target> | set <target> '<json>' | delete <target>";
const TARGET = /^[a-z][a-z0-9-]*$/;

class Refused extends Error {}

async function openBucket(
  nc: NatsConnection,
  bucket: string,
  create: false | { replicas: number },
): Promise<KV | undefined> {
  const kvm = new Kvm(nc);
  if (create) return kvm.create(bucket, { history: 5, replicas: create.replicas });
  const kv = await kvm.open(bucket);
  try {
    await kv.status();
    return kv;
  } catch {
    return undefined;
  }
}

async function overridesOf(kv: KV | undefined, target: string) {
  const entry = await kv?.get(target);
  if (!entry || entry.operation !== "PUT") return undefined;
  const parsed = parsePolicyOverrides(entry.string());
  return "overrides" in parsed ? parsed.overrides : undefined;
}

/**
 * The targets a policy can apply to: the services that other services of the platform call (its
 * communication table), and any service registered in the namespace now (one of its own, say).
 */
export async function knownTargets(nc: NatsConnection, namespace: string): Promise<string[]> {
  const called = Object.values(PLATFORM).flatMap((role) => role.calls);
  const registered = (await listInstances(nc, { namespace })).map((i) => i.name);
  return [...new Set([...called, ...registered])].sort();
}

async function run(
  nc: NatsConnection,
  { bucket, namespace, replicas }: { bucket: string; namespace: string; replicas: number },
  [command = "list", target, value, ...extra]: string[],
): Promise<string> {
  if (extra.length) throw new Refused(USAGE);
  if (command !== "list" && (!target || !TARGET.test(target)))
    throw new Refused(`${command}: name a target service (lower-case, e.g. payment)\n${USAGE}`);
  switch (command) {
    case "list": {
      const kv = await openBucket(nc, bucket, false);
      const lines = [`defaults: ${JSON.stringify(DEFAULT_POLICY_SETTINGS)}`];
      if (!kv) lines.push(`(no bucket ${bucket} yet: every target uses the defaults)`);
      else for await (const key of await kv.keys()) lines.push(`${key}: ${(await kv.get(key))?.string()}`);
      return lines.join("\n");
    }
    case "get": {
      const kv = await openBucket(nc, bucket, false);
      return JSON.stringify(applyOverrides(DEFAULT_POLICY_SETTINGS, await overridesOf(kv, target!)), null, 2);
    }
    case "set": {
      if (value === undefined) throw new Refused(`set: give the overrides as JSON\n${USAGE}`);
      const parsed = parsePolicyOverrides(value);
      if ("problems" in parsed) throw new Refused(`set ${target}: not stored:\n  ${parsed.problems.join("\n  ")}`);
      // A misspelled target would be stored and apply to nothing, silently.
      const known = await knownTargets(nc, namespace);
      if (!known.includes(target!))
        throw new Refused(
          `set ${target}: not stored: no service "${target}" is called on this platform or registered in namespace "${namespace}"; targets: ${known.join(", ")}`,
        );
      const kv = (await openBucket(nc, bucket, { replicas }))!;
      const revision = await kv.put(target!, JSON.stringify(parsed.overrides));
      return `set ${target} in ${bucket} (revision ${revision}): ${JSON.stringify(parsed.overrides)}`;
    }
    case "delete": {
      const kv = await openBucket(nc, bucket, false);
      if (kv) await kv.delete(target!);
      return `deleted ${target} from ${bucket}: calls to it use the defaults`;
    }
    default:
      throw new Refused(USAGE);
  }
}

async function main() {
  let cfg;
  try {
    cfg = readConfig({
      NATS_URL: natsUrlSetting(),
      RESILIENCE_POLICY_BUCKET: text(policyBucketOf(namespaceOf(process.env))),
      PLATFORM_NAMESPACE: platformNamespace,
      // Copies of the bucket when the first `set` creates it: one per NATS node, like every stream.
      STREAM_REPLICAS: integer(1, { min: 1, max: 5 }),
    });
  } catch (e) {
    throw new Refused(e instanceof ConfigError ? e.problems.join("; ") : String(e));
  }
  const fail = (m: string) => new Refused(m);
  await withOperatorNats({ natsUrl: cfg.NATS_URL, name: "policies-cli", fail }, async (nc) =>
    console.log(
      await run(
        nc,
        { bucket: cfg.RESILIENCE_POLICY_BUCKET, namespace: cfg.PLATFORM_NAMESPACE, replicas: cfg.STREAM_REPLICAS },
        process.argv.slice(2),
      ),
    ),
  );
}

if (import.meta.main) runOperatorCommand("policies", main);
