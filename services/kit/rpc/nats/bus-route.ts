import type { DescMethodUnary } from "@bufbuild/protobuf";
import type { NatsConnection } from "@nats-io/transport-node";
import type { DiscoveredInstance, ServiceDiscovery } from "../../discovery/service-discovery";
import { BusLink } from "../../nats/bus-link";
import { NatsUnaryCalls } from "./nats-unary-call";
import { rpcSubject } from "./subjects";

/** Unary calls over the bus: the subject of a method of an instance that answers it there now, and the calls. */
export interface BusRoute {
  /** Undefined when the call goes over HTTP: the bus is down, or the instance does not serve the method on it. */
  subject(target: string, instance: DiscoveredInstance, method: DescMethodUnary): string | undefined;
  readonly calls: NatsUnaryCalls;
  stop(): void;
}

/**
 * The bus as a route for unary calls. While this process's NATS connection is down, calls go to the
 * last known instances over their HTTP endpoints, and back to NATS once it is up; the calls waiting for a
 * reply when it dropped fail at once as connection errors (retried where the call may be repeated).
 */
export function busRoute(
  nc: NatsConnection,
  namespace: string,
  discovery: ServiceDiscovery,
  inboxPrefix?: string,
): BusRoute {
  const link = new BusLink(nc, () => calls.connectionLost());
  const calls = new NatsUnaryCalls(nc, { inboxPrefix });
  // An instance dropped from discovery (it stopped answering pings: killed, say) takes no more calls,
  // and the calls waiting on it fail at once, to be retried on another where they may be.
  const known = new Map<string, Set<string>>();
  discovery.onChange((service, instances) => {
    const live = new Set(instances.map((i) => i.id));
    for (const id of known.get(service) ?? [])
      if (!live.has(id)) calls.abandon(rpcSubject(namespace, service, "/", id), `instance ${id} of ${service} is gone`);
    known.set(service, live);
  });
  const paths = new WeakMap<object, string>();
  return {
    subject(target, instance, method) {
      if (!instance.natsMethods || !link.connected) return undefined;
      let path = paths.get(method);
      if (path === undefined) paths.set(method, (path = `/${method.parent.typeName}/${method.name}`));
      // A method it does not answer on the bus (unknown to it, say) goes over HTTP, which says so in the protocol's terms.
      return instance.natsMethods.get(path);
    },
    calls,
    stop: () => calls.close(),
  };
}
