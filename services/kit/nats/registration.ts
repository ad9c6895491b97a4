import type { NatsConnection } from "@nats-io/transport-node";
import { Svcm, type Service } from "@nats-io/services";
import { PROOF_KEY } from "../trust/registration-proof";
import type { EndpointFigures, RpcEndpoint } from "../rpc/nats/serve-on-nats";
import { registeredName, serviceSubjects } from "./namespace";

export interface Endpoints {
  /** Base URL of the HTTP/1.1 port: Connect, gRPC-Web, REST, health and metrics. */
  http: string;
  /** Base URL of the HTTP/2 cleartext gRPC port, when the service has one. */
  grpc?: string;
  /** Base URL of the operations listener (probes, metrics, health), when kept apart from a public `http`. */
  ops?: string;
}

export interface Registration {
  readonly id: string;
  /** Removes the instance from discovery; in-flight work is the caller's to finish. */
  stop(): Promise<void>;
}

/**
 * Registers this instance with the NATS services API ($SRV.PING/INFO/STATS.<namespace>-<name>). Discovery reads
 * the endpoint URLs from the metadata. The `status` endpoint answers whether the instance is ready and
 * reports its RPC counts in $SRV.STATS.
 */
export async function registerService(
  nc: NatsConnection,
  opts: {
    name: string;
    version: string;
    description: string;
    endpoints: Endpoints;
    /** Instances only find peers of the same namespace: one NATS can carry several platforms (or test runs). */
    namespace: string;
    status: () => { ready: boolean };
    /** RPC requests and errors, and plain REST ones (rest_requests, rest_errors), for $SRV.STATS. */
    rpcCounts: () => { requests: number; errors: number; rest_requests?: number; rest_errors?: number };
    /** Signs the metadata with this instance's key (trust/registration-proof.ts), when it has one. */
    prove?: (metadata: Record<string, string>) => string;
    /** The subjects its RPC methods are served on (rpc/nats/serve-on-nats.ts), given the instance's id. */
    rpc?: (instanceId: string) => RpcEndpoint[];
  },
): Promise<Registration> {
  const metadata: Record<string, string> = { namespace: opts.namespace, http_url: opts.endpoints.http };
  if (opts.endpoints.grpc) metadata.grpc_url = opts.endpoints.grpc;
  if (opts.endpoints.ops) metadata.ops_url = opts.endpoints.ops;
  if (opts.prove) metadata[PROOF_KEY] = opts.prove(metadata);
  const figures = new Map<string, EndpointFigures>();
  const service: Service = await new Svcm(nc).add({
    name: registeredName(opts.namespace, opts.name),
    version: opts.version,
    description: opts.description,
    metadata,
    statsHandler: async (endpoint) => {
      const own = figures.get(endpoint.subject);
      if (!own) return opts.rpcCounts();
      // The library times a callback until it returns; an RPC answers later. Its own figures, counted
      // when the answer went out, replace the library's in the endpoint's stats.
      const stats = (endpoint as { stats?: Record<string, unknown> }).stats;
      if (stats) Object.assign(stats, statsOf(own));
      return null;
    },
  });

  service.addEndpoint("status", {
    subject: `${serviceSubjects(opts.namespace, opts.name)}.${service.info().id}.status`,
    handler: (err, msg) => {
      if (err) return;
      msg.respond(JSON.stringify({ ...opts.status(), ...opts.endpoints }));
    },
    metadata: { description: "readiness and endpoint URLs of this instance" },
  });
  for (const e of opts.rpc?.(service.info().id) ?? []) {
    figures.set(e.subject, e.figures);
    service.addEndpoint(e.name, { subject: e.subject, queue: e.queue, handler: e.handler });
  }
  return {
    id: service.info().id,
    async stop() {
      if (!service.isStopped) await service.stop();
    },
  };
}

function statsOf(f: EndpointFigures) {
  return {
    num_requests: f.requests,
    num_errors: f.errors,
    processing_time: f.processingNs,
    average_processing_time: f.requests ? Math.round(f.processingNs / f.requests) : 0,
    last_error: f.lastError,
  };
}
