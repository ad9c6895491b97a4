import { NoRespondersError, type NatsConnection } from "@nats-io/transport-node";
import { Svcm, type ServiceIdentity, type ServiceInfo, type ServiceStats } from "@nats-io/services";
import { registeredName, serviceOfRegistration } from "./namespace";

export interface Instance {
  /** The service (`payment`), without the namespace it is registered under (`shop-payment`). */
  name: string;
  /** The name in the services API, which its proof (trust/registration-proof.ts) is checked against. */
  registeredAs: string;
  namespace: string;
  id: string;
  version: string;
  description: string;
  http?: string;
  grpc?: string;
  /** Everything the instance registered (URLs, namespace, its proof). */
  metadata: Record<string, string>;
  /** From $SRV.STATS, when asked for. */
  started?: string;
  requests?: number;
  errors?: number;
  /** Plain REST requests it answered (probes and metrics not counted), and those answered 500 and up. */
  restRequests?: number;
  restErrors?: number;
  /** Its RPC endpoints on NATS (rpc/nats/serve-on-nats.ts) with their figures, from $SRV.STATS. */
  rpcEndpoints?: { name: string; subject: string; requests: number; errors: number; averageMs: number }[];
}

/**
 * Every registered instance (of one service of a namespace, of a namespace, or of all), from $SRV.INFO
 * and, with `stats`, $SRV.STATS.
 * Answers are gathered until `waitMs` passes without a new one.
 */
export async function listInstances(
  nc: NatsConnection,
  {
    name,
    namespace,
    stats = false,
    waitMs = 250,
    trusted = () => true,
  }: ({ name: string; namespace: string } | { name?: undefined; namespace?: string }) & {
    stats?: boolean;
    waitMs?: number;
    /** Which answers to believe (trust/registration-proof.ts): the others are left out. */
    trusted?: (info: ServiceIdentity) => boolean;
  } = {},
): Promise<Instance[]> {
  const client = new Svcm(nc).client({ strategy: "stall", maxWait: 2000, stall: waitMs });
  const registered = name === undefined ? undefined : registeredName(namespace!, name);
  const infos = await gatherAnswers(() => client.info(registered));
  const byId = new Map(
    (stats ? await gatherAnswers(() => client.stats(registered)) : []).map((st: ServiceStats) => [st.id, st]),
  );
  return infos
    .filter(
      (info) =>
        (namespace === undefined ||
          (info.metadata?.namespace === namespace && serviceOfRegistration(namespace, info.name) !== undefined)) &&
        trusted(info),
    )
    .map((info) => {
      const s = byId.get(info.id);
      const counts = s?.endpoints?.find((e) => e.name === "status")?.data as
        { requests?: number; errors?: number; rest_requests?: number; rest_errors?: number } | undefined;
      return {
        name: serviceOfRegistration(info.metadata?.namespace ?? "", info.name) ?? info.name,
        registeredAs: info.name,
        namespace: info.metadata?.namespace ?? "",
        id: info.id,
        version: info.version,
        description: info.description,
        http: info.metadata?.http_url,
        grpc: info.metadata?.grpc_url,
        metadata: info.metadata ?? {},
        ...(s
          ? {
              started: s.started,
              requests: counts?.requests ?? 0,
              errors: counts?.errors ?? 0,
              restRequests: counts?.rest_requests ?? 0,
              restErrors: counts?.rest_errors ?? 0,
              rpcEndpoints: (s.endpoints ?? [])
                .filter((e) => e.name !== "status")
                .map((e) => ({
                  name: e.name,
                  subject: e.subject,
                  requests: e.num_requests,
                  errors: e.num_errors,
                  averageMs: Math.round(e.average_processing_time / 1000) / 1000,
                })),
            }
          : {}),
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
}

/**
 * The endpoint URLs an instance registered (metadata written by registration.ts), when it belongs to
 * `namespace`, can be called and is `trusted`; undefined otherwise.
 */
export function registeredEndpoints(
  info: ServiceIdentity,
  namespace: string,
  trusted: (info: ServiceIdentity) => boolean = () => true,
): { http: string; grpc?: string } | undefined {
  const m = info.metadata ?? {};
  if (m.namespace !== namespace || serviceOfRegistration(namespace, info.name) === undefined) return undefined;
  if (!m.http_url || !trusted(info)) return undefined;
  return { http: m.http_url, ...(m.grpc_url ? { grpc: m.grpc_url } : {}) };
}

/** Every answer to a services-API request; none answering is an empty list, not a failure. */
export async function gatherAnswers<T>(ask: () => Promise<AsyncIterable<T>>): Promise<T[]> {
  const out: T[] = [];
  try {
    for await (const answer of await ask()) out.push(answer);
  } catch (e) {
    if (!isNoResponders(e)) throw e;
  }
  return out;
}

/**
 * Nobody subscribed to the subject. Checked by name as well: @nats-io/services loads nats-core as
 * CommonJS, so its error classes are not the ones we import.
 */
export function isNoResponders(e: unknown): boolean {
  for (let x = e, depth = 0; x instanceof Error && depth < 4; x = x.cause, depth++) {
    if (x instanceof NoRespondersError || x.name === "NoResponders" || x.constructor?.name === "NoRespondersError")
      return true;
  }
  return false;
}
