import { Code, ConnectError, type Transport } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import type { NatsConnection } from "@nats-io/transport-node";
import { listInstances, type Instance } from "../nats/service-directory";

/** Finds a base URL for a service by name; callers never hold a host. */
export interface ServiceLocator {
  /** The HTTP/1.1 base URL of one instance of `service`, round-robin over what is registered. */
  pick(service: string): Promise<string>;
}

/**
 * A locator over the NATS services API: instances of `namespace` from $SRV.INFO, cached for `ttlMs`,
 * taken in turn. A service gets one bound to its PLATFORM_NAMESPACE as `ctx.services` from the kit.
 * Fails with Unavailable when nothing of that name is registered.
 */
export function natsLocator(nc: NatsConnection, { namespace, ttlMs = 2000 }: { namespace: string; ttlMs?: number }): ServiceLocator {
  const cache = new Map<string, { at: number; instances: Instance[]; next: number; refreshing?: Promise<Instance[]> }>();
  const refresh = async (service: string) => {
    const entry = cache.get(service) ?? { at: 0, instances: [], next: 0 };
    cache.set(service, entry);
    entry.refreshing ??= listInstances(nc, { name: service, namespace, waitMs: 100 })
      .then((found) => {
        entry.instances = found.filter((i) => i.http);
        entry.at = Date.now();
        return entry.instances;
      })
      .finally(() => (entry.refreshing = undefined));
    return entry.refreshing;
  };
  return {
    async pick(service) {
      let entry = cache.get(service);
      if (!entry || Date.now() - entry.at > ttlMs || entry.instances.length === 0) {
        await refresh(service);
        entry = cache.get(service)!;
      }
      if (entry.instances.length === 0) throw new ConnectError(`no instance of ${service} is registered`, Code.Unavailable);
      const instance = entry.instances[entry.next++ % entry.instances.length]!;
      return instance.http!;
    },
  };
}

/**
 * A Connect transport (binary, HTTP/1.1) to a service by name: each call goes to an instance the
 * locator picks. A refused connection surfaces as Unavailable.
 */
export function serviceTransport(locator: ServiceLocator, service: string): Transport {
  const byUrl = new Map<string, Transport>();
  const transportFor = async () => {
    const url = await locator.pick(service);
    let t = byUrl.get(url);
    if (!t) byUrl.set(url, (t = createConnectTransport({ baseUrl: url, httpVersion: "1.1" })));
    return t;
  };
  return {
    async unary(method, signal, timeoutMs, header, input, contextValues) {
      return (await transportFor()).unary(method, signal, timeoutMs, header, input, contextValues);
    },
    async stream(method, signal, timeoutMs, header, input, contextValues) {
      return (await transportFor()).stream(method, signal, timeoutMs, header, input, contextValues);
    },
  };
}

/** fetch() against a REST service by name: `path` is appended to an instance's base URL. */
export function serviceFetch(locator: ServiceLocator, service: string) {
  return async (path: string, init?: RequestInit): Promise<Response> => {
    const base = await locator.pick(service);
    try {
      return await fetch(base + path, init);
    } catch (e) {
      throw new ConnectError(`${service} at ${base}: ${e instanceof Error ? e.message : e}`, Code.Unavailable);
    }
  };
}
