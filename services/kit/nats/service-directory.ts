import type { NatsConnection } from "@nats-io/transport-node";
import { Svcm, type ServiceInfo, type ServiceStats } from "@nats-io/services";
import { isNoResponders } from "../discovery/service-discovery";

export interface Instance {
  name: string;
  namespace: string;
  id: string;
  version: string;
  description: string;
  http?: string;
  grpc?: string;
  /** From $SRV.STATS, when asked for. */
  started?: string;
  requests?: number;
  errors?: number;
}

/**
 * Every registered instance (of one service, or of all; of one namespace, or of all), from $SRV.INFO
 * and, with `stats`, $SRV.STATS.
 * Answers are gathered until `waitMs` passes without a new one.
 */
export async function listInstances(
  nc: NatsConnection,
  { name, namespace, stats = false, waitMs = 250 }: { name?: string; namespace?: string; stats?: boolean; waitMs?: number } = {},
): Promise<Instance[]> {
  const client = new Svcm(nc).client({ strategy: "stall", maxWait: 2000, stall: waitMs });
  const infos: ServiceInfo[] = [];
  const byId = new Map<string, ServiceStats>();
  try {
    for await (const info of await client.info(name)) infos.push(info);
    if (stats) for await (const s of await client.stats(name)) byId.set(s.id, s);
  } catch (e) {
    // No instance answered: an empty directory, not a failure.
    if (!isNoResponders(e)) throw e;
  }
  return infos
    .filter((info) => namespace === undefined || info.metadata?.namespace === namespace)
    .map((info) => {
      const s = byId.get(info.id);
      const counts = s?.endpoints?.find((e) => e.name === "status")?.data as { requests?: number; errors?: number } | undefined;
      return {
        name: info.name,
        namespace: info.metadata?.namespace ?? "",
        id: info.id,
        version: info.version,
        description: info.description,
        http: info.metadata?.http_url,
        grpc: info.metadata?.grpc_url,
        ...(s ? { started: s.started, requests: counts?.requests ?? 0, errors: counts?.errors ?? 0 } : {}),
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
}
