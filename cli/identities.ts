// `bun run cli identities`: the platform's identities (an nkey per service, and the operator's) and the
// nats-server authorization that gives each service what services/platform/communication.ts allows.
// Keys already in the folder are kept: running it again only brings the authorization up to date.
//   --dir <folder>        default DATA_DIR/identities (.data/identities)
//   --namespace <ns>      default PLATFORM_NAMESPACE (shop)
//   --events-prefix <p>   default EVENTS_PREFIX (the namespace)
//   --policy-bucket <b>   default RESILIENCE_POLICY_BUCKET (<namespace>_policies)
// Writes (seeds readable by the owner only):
//   seeds.json            every identity's seed: the operator's is what the CLI connects with
//   <name>.seed           one per identity, for NATS_NKEY_SEED_FILE
//   <name>.env            NATS_NKEY_SEED and PLATFORM_PUBLIC_KEYS of one identity (compose's env_file)
//   auth.conf             include it from nats-server's configuration (`include auth.conf`)
//   public-keys.env       PLATFORM_PUBLIC_KEYS=..., for every service: whose tokens to believe
import { namespaceOf, policyBucketOf } from "../services/kit/nats";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { platformAuthorizationConf, platformIdentities, publicKeysSetting } from "../services/platform/identities";
import { identitiesDir } from "./operator-nats";

export interface IdentitiesOptions {
  dir: string;
  namespace: string;
  eventsPrefix: string;
  policyBucket: string;
}

/** Makes (or brings up to date) a platform's identities in `dir`; returns the seeds and the public keys setting. */
export function writeIdentities(o: IdentitiesOptions) {
  mkdirSync(o.dir, { recursive: true, mode: 0o700 });
  const seedsFile = join(o.dir, "seeds.json");
  const existing = existsSync(seedsFile) ? (JSON.parse(readFileSync(seedsFile, "utf8")) as Record<string, string>) : {};
  const ids = platformIdentities(existing);
  const secret = (file: string, text: string) => {
    writeFileSync(file, text, { mode: 0o600 });
    chmodSync(file, 0o600);
  };
  secret(
    seedsFile,
    `${JSON.stringify(Object.fromEntries(Object.entries(ids).map(([n, k]) => [n, k.seed])), null, 2)}\n`,
  );
  const publicKeys = publicKeysSetting(ids);
  for (const [name, k] of Object.entries(ids)) {
    secret(join(o.dir, `${name}.seed`), `${k.seed}\n`);
    secret(join(o.dir, `${name}.env`), `NATS_NKEY_SEED=${k.seed}\nPLATFORM_PUBLIC_KEYS=${publicKeys}\n`);
  }
  writeFileSync(
    join(o.dir, "auth.conf"),
    platformAuthorizationConf(ids, {
      namespace: o.namespace,
      eventsPrefix: o.eventsPrefix,
      policyBucket: o.policyBucket,
    }),
  );
  writeFileSync(join(o.dir, "public-keys.env"), `PLATFORM_PUBLIC_KEYS=${publicKeys}\n`);
  return { ids, publicKeys, created: Object.keys(ids).filter((n) => !existing[n]) };
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const flag = (name: string, fallback: string) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
  };
  const o: IdentitiesOptions = {
    dir: resolve(flag("dir", identitiesDir())),
    namespace: flag("namespace", namespaceOf(process.env)),
    eventsPrefix: flag("events-prefix", process.env.EVENTS_PREFIX || ""),
    policyBucket: flag("policy-bucket", process.env.RESILIENCE_POLICY_BUCKET || ""),
  };
  // Both follow the namespace unless set, as in the services (kit/nats/namespace.ts).
  o.eventsPrefix ||= o.namespace;
  o.policyBucket ||= policyBucketOf(o.namespace);
  const { ids, created } = writeIdentities(o);
  console.log(
    `identities in ${o.dir} (namespace ${o.namespace}, events prefix ${o.eventsPrefix}, policy bucket ${o.policyBucket}):`,
  );
  for (const [name, k] of Object.entries(ids))
    console.log(`  ${name.padEnd(13)}${k.publicKey}${created.includes(name) ? "  (new)" : ""}`);
  console.log(`nats-server: include ${join(o.dir, "auth.conf")} in its configuration`);
  console.log(
    `services: NATS_NKEY_SEED_FILE=${join(o.dir, "<service>.seed")}, and the line of ${join(o.dir, "public-keys.env")}`,
  );
}
