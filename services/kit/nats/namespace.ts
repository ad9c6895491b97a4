import type { Setting } from "../config";

/**
 * A platform's namespace (PLATFORM_NAMESPACE) keeps everything it puts on a shared NATS apart from other
 * platforms': its services' registrations (`<ns>-<service>` in the services API), their endpoints
 * (`<ns>.svc.>`), its streams and subjects (EVENTS_PREFIX, which defaults to the namespace) and its policy
 * bucket (`<ns>_policies`). One token of lower-case letters and digits, so it fits all of those names.
 */
export const DEFAULT_NAMESPACE = "shop";

export const platformNamespace: Setting<string> = {
  expected: "lower-case letters and digits, starting with a letter (at most 32)",
  fallback: DEFAULT_NAMESPACE,
  parse(raw) {
    if (!/^[a-z][a-z0-9]{0,31}$/.test(raw)) throw new Error("");
    return raw;
  },
};

/** The namespace an environment names, before it is validated with the rest of the config. */
export const namespaceOf = (env: Record<string, string | undefined>) => env.PLATFORM_NAMESPACE || DEFAULT_NAMESPACE;

/** The name a service registers under in the NATS services API, so $SRV.*.<name> of two platforms never meet. */
export const registeredName = (namespace: string, service: string) => `${namespace}-${service}`;

/** The service a registered name stands for in `namespace`; undefined when it is not that namespace's. */
export function serviceOfRegistration(namespace: string, registered: string): string | undefined {
  const prefix = `${namespace}-`;
  return registered.startsWith(prefix) && registered.length > prefix.length
    ? registered.slice(prefix.length)
    : undefined;
}

/** The subjects under which a service's instances answer (their status endpoint; a reserved domain for events). */
export const serviceSubjects = (namespace: string, service: string) => `${namespace}.svc.${service}`;

/** The policy bucket of a namespace, unless RESILIENCE_POLICY_BUCKET names another. */
export const policyBucketOf = (namespace: string) => `${namespace}_policies`;
