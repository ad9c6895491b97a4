import { Svcm, type ServiceClient, type ServiceIdentity, type ServiceInfo } from "@nats-io/services";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "../log";
import { BusLink } from "../nats/bus-link";
import { registeredName, serviceOfRegistration } from "../nats/namespace";
import { gatherAnswers as gather, registeredEndpoints } from "../nats/service-directory";
import { rpcSubject } from "../rpc/nats/subjects";

/** One running instance of a service, as registered with the NATS services API. */
export interface DiscoveredInstance {
  readonly id: string;
  readonly name: string;
  readonly version: string;
  /** Base URL of its HTTP/1.1 port (Connect, gRPC-Web, REST). */
  readonly http: string;
  /** Base URL of its HTTP/2 gRPC port, if it has one. */
  readonly grpc?: string;
  /**
   * The methods (/package.Service/Method) it answers on NATS as well, each with its subject, from the
   * endpoints of its registration under its own RPC subjects (rpc/nats/subjects.ts).
   */
  readonly natsMethods?: ReadonlyMap<string, string>;
}

export interface DiscoveryOptions {
  /** Only instances registered with this PLATFORM_NAMESPACE are seen. */
  namespace: string;
  /** The cache's TTL: how often the full list is read again ($SRV.INFO) in the background. */
  refreshMs?: number;
  /** How often every known instance is asked whether it is alive ($SRV.PING). */
  pingIntervalMs?: number;
  /** An instance that misses this many pings in a row is dropped. */
  missedPings?: number;
  /** Answers to INFO and PING are gathered until none came for this long. */
  gatherMs?: number;
  /** Which registrations to believe (trust/registration-proof.ts); all, on an open platform. */
  trusted?: (info: ServiceIdentity) => boolean;
  log?: Logger;
}

type Listener = (service: string, instances: readonly DiscoveredInstance[]) => void;

/**
 * Finds the instances of a service by name through the NATS services API, in the caller's namespace.
 *
 * The first ask for a service reads $SRV.INFO.<name> and keeps the answer; from then on the list is
 * refreshed in the background (every `refreshMs`), and right after a call to it failed (`refreshSoon`).
 * Every `pingIntervalMs` a $SRV.PING.<name> checks who is alive: an instance that stopped deregistered
 * and no longer answers, nor does one killed with SIGKILL (NATS drops its connection), so it is gone after
 * `missedPings` pings (about a second by default); an unknown id in the answers triggers a refresh, so
 * new instances show up as fast. While this process's own NATS connection is down, silence says nothing
 * about the instances: the last known ones are kept (calls go on over their HTTP endpoints), and the
 * lists are read again as soon as the connection is back.
 *
 * @example
 *   const discovery = new ServiceDiscovery(nc, { namespace: "shop" });
 *   const [first] = await discovery.instances("payment");
 */
export class ServiceDiscovery {
  readonly #nc: NatsConnection;
  readonly #opts: Required<Omit<DiscoveryOptions, "log">> & { log?: Logger };
  readonly #client: ServiceClient;
  readonly #pools = new Map<string, InstancePool>();
  readonly #listeners: Listener[] = [];
  readonly #link: BusLink;
  #stopped = false;

  constructor(
    nc: NatsConnection,
    {
      namespace,
      refreshMs = 5000,
      pingIntervalMs = 500,
      missedPings = 2,
      gatherMs = 50,
      trusted = () => true,
      log,
    }: DiscoveryOptions,
  ) {
    this.#nc = nc;
    this.#opts = { namespace, refreshMs, pingIntervalMs, missedPings, gatherMs, trusted, log };
    this.#client = new Svcm(nc).client({ strategy: "stall", stall: gatherMs, maxWait: Math.max(1000, gatherMs * 4) });
    this.#link = new BusLink(nc);
    this.#link.onReconnect(() => {
      log?.info({ services: [...this.#pools.keys()] }, "NATS is back: reading the instances again");
      for (const pool of this.#pools.values()) void pool.refresh();
    });
  }

  get namespace(): string {
    return this.#opts.namespace;
  }

  /** The live instances of `service` (possibly none). Waits for NATS only the first time, or while none is known. */
  async instances(service: string): Promise<readonly DiscoveredInstance[]> {
    return this.#pool(service).current();
  }

  /** A call to `service` failed: read its list again now rather than at the next refresh. */
  refreshSoon(service: string): void {
    void this.#pool(service).refresh({ minGapMs: 100 });
  }

  /** Called whenever the list of a service changes (instances added or dropped). */
  onChange(listener: Listener): void {
    this.#listeners.push(listener);
  }

  /** Stops the background refresh and pings. */
  stop(): void {
    this.#stopped = true;
    for (const pool of this.#pools.values()) pool.stop();
  }

  #pool(service: string): InstancePool {
    let pool = this.#pools.get(service);
    if (!pool) {
      pool = new InstancePool(service, this.#client, this.#opts, this.#link, (list) => {
        for (const l of this.#listeners) l(service, list);
      });
      this.#pools.set(service, pool);
      if (!this.#stopped && !this.#nc.isClosed()) pool.start();
    }
    return pool;
  }
}

/** The known instances of one service and the timers that keep the list true. */
class InstancePool {
  #byId = new Map<string, { instance: DiscoveredInstance; missed: number }>();
  /** The list every call reads, made once per change of #byId. */
  #listed?: DiscoveredInstance[];
  #loadedAt = 0;
  #refreshing?: Promise<void>;
  #pinging = false;
  #timers: ReturnType<typeof setInterval>[] = [];

  constructor(
    readonly service: string,
    private readonly client: ServiceClient,
    private readonly opts: Required<Omit<DiscoveryOptions, "log">> & { log?: Logger },
    private readonly link: BusLink,
    private readonly changed: (list: readonly DiscoveredInstance[]) => void,
  ) {}

  start(): void {
    this.#timers.push(setInterval(() => void this.ping(), this.opts.pingIntervalMs).unref());
    this.#timers.push(setInterval(() => void this.refresh(), this.opts.refreshMs).unref());
  }

  stop(): void {
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
  }

  async current(): Promise<readonly DiscoveredInstance[]> {
    // The bus is down: what we knew is all there is to know (and asking would only wait).
    if (!this.link.connected && this.#byId.size > 0) return this.#list();
    const stale = Date.now() - this.#loadedAt > this.opts.refreshMs * 2;
    // Nothing known: ask NATS now (at most every 100 ms), an empty cache must not outlive a new instance.
    if (this.#loadedAt === 0 || stale || this.#byId.size === 0)
      await this.refresh({ minGapMs: this.#loadedAt === 0 ? 0 : 100 });
    return this.#list();
  }

  #list(): DiscoveredInstance[] {
    return (this.#listed ??= [...this.#byId.values()].map((e) => e.instance));
  }

  /**
   * Reads $SRV.INFO.<name>: adds the instances it did not know, brings the known ones up to date. It
   * drops none: an answer may be missing only because it is late (the cluster busy electing leaders
   * after a node died, this process just reconnected), and dropping an instance fails the calls waiting
   * on it. Pings decide who is gone, after `missedPings` in a row. Concurrent callers share one request.
   */
  refresh({ minGapMs = 0 } = {}): Promise<void> {
    if (this.#refreshing) return this.#refreshing;
    if (Date.now() - this.#loadedAt < minGapMs) return Promise.resolve();
    this.#refreshing = (async () => {
      try {
        const epoch = this.link.epoch;
        const infos = await gather<ServiceInfo>(() =>
          this.client.info(registeredName(this.opts.namespace, this.service)),
        );
        // The connection dropped meanwhile: the silence is the bus's, not the instances'.
        if (epoch !== this.link.epoch || !this.link.connected) return;
        const next = new Map<string, { instance: DiscoveredInstance; missed: number }>();
        for (const info of infos) {
          const instance = toInstance(info, this.opts.namespace, this.opts.trusted);
          if (instance) next.set(instance.id, { instance, missed: 0 });
        }
        // Silent here, still known: its pings say whether it is alive (see above).
        for (const [id, entry] of this.#byId) if (!next.has(id)) next.set(id, entry);
        const before = [...this.#byId.keys()].sort().join();
        this.#byId = next;
        this.#listed = undefined;
        this.#loadedAt = Date.now();
        if ([...next.keys()].sort().join() !== before) {
          this.opts.log?.debug({ service: this.service, instances: [...next.keys()] }, "instances changed");
          this.changed(this.#list());
        }
      } catch (e) {
        // NATS is away (reconnecting, closing): keep what we know; calls will tell if it is wrong.
        this.opts.log?.debug({ service: this.service, err: e }, "could not refresh instances");
      } finally {
        this.#refreshing = undefined;
      }
    })();
    return this.#refreshing;
  }

  /** $SRV.PING.<name>: who is alive. Misses count towards dropping; an unknown id means a new instance. */
  async ping(): Promise<void> {
    if (this.#pinging || this.#loadedAt === 0 || !this.link.connected) return;
    this.#pinging = true;
    try {
      const epoch = this.link.epoch;
      const answers = await gather<ServiceIdentity>(() =>
        this.client.ping(registeredName(this.opts.namespace, this.service)),
      );
      if (epoch !== this.link.epoch || !this.link.connected) return;
      const alive = new Set(
        answers.filter((a) => registeredEndpoints(a, this.opts.namespace, this.opts.trusted)).map((a) => a.id),
      );
      let dropped = false;
      for (const [id, entry] of this.#byId) {
        if (alive.has(id)) entry.missed = 0;
        else if (++entry.missed >= this.opts.missedPings) {
          this.#byId.delete(id);
          this.#listed = undefined;
          dropped = true;
          this.opts.log?.info({ service: this.service, instance: id }, "instance stopped answering pings; dropped");
        }
      }
      if (dropped) this.changed(this.#list());
      if ([...alive].some((id) => !this.#byId.has(id))) await this.refresh();
    } catch (e) {
      this.opts.log?.debug({ service: this.service, err: e }, "ping failed");
    } finally {
      this.#pinging = false;
    }
  }
}

function toInstance(
  info: ServiceInfo,
  namespace: string,
  trusted: (info: ServiceIdentity) => boolean,
): DiscoveredInstance | undefined {
  const at = registeredEndpoints(info, namespace, trusted);
  const name = serviceOfRegistration(namespace, info.name);
  if (!at || name === undefined) return undefined;
  const natsMethods = methodsOnNats(info.endpoints ?? [], rpcSubject(namespace, name, "/", info.id));
  return { id: info.id, name, version: info.version, ...at, ...(natsMethods.size ? { natsMethods } : {}) };
}

/** The methods an instance answers on the bus, by path: its endpoints under its own RPC subjects. */
function methodsOnNats(endpoints: readonly { subject: string }[], prefix: string): ReadonlyMap<string, string> {
  const subjects = new Map<string, string>();
  for (const { subject } of endpoints) {
    if (!subject.startsWith(prefix)) continue;
    const tail = subject.slice(prefix.length);
    const dot = tail.lastIndexOf(".");
    if (dot > 0) subjects.set(`/${tail.slice(0, dot)}/${tail.slice(dot + 1)}`, subject);
  }
  return subjects;
}
