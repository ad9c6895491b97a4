import { Ejections, type EjectionBackoff } from "./ejection";
import { NoInstanceError } from "./no-instance-error";
import { createPicker, type LoadBalancing, type Picker } from "./picker";
import type { DiscoveredInstance, ServiceDiscovery } from "./service-discovery";

/** How one attempt ended, as far as the instance's standing goes. */
export type AttemptOutcome = "success" | "failure" | "eject";

/** An instance chosen for one attempt; `release` must be called once the attempt ended. */
export interface Lease {
  readonly instance: DiscoveredInstance;
  release(outcome: AttemptOutcome): void;
}

export interface BalancerSettings {
  loadBalancing: LoadBalancing;
  ejection: EjectionBackoff;
}

/**
 * Chooses the instance of one service for each attempt: from what discovery knows, leaving out the
 * instances this call already tried (so a retry goes elsewhere when it can) and those ejected after
 * failures, then round-robin or power-of-two-choices on the calls in flight from this process.
 * When every instance is ejected it picks among them anyway: ejection is a guess, refusing outright is
 * the breaker's job.
 */
export class InstanceBalancer {
  readonly #outstanding = new Map<string, number>();
  readonly #ejections: Ejections;
  #picker: Picker;
  #kind: LoadBalancing;

  constructor(
    private readonly discovery: ServiceDiscovery,
    readonly service: string,
    settings: BalancerSettings,
    private readonly onEject?: (instance: DiscoveredInstance, forMs: number) => void,
  ) {
    this.#ejections = new Ejections(settings.ejection);
    this.#kind = settings.loadBalancing;
    this.#picker = createPicker(this.#kind);
  }

  configure(settings: BalancerSettings): void {
    this.#ejections.configure(settings.ejection);
    if (settings.loadBalancing !== this.#kind) {
      this.#kind = settings.loadBalancing;
      this.#picker = createPicker(this.#kind);
    }
  }

  /** Calls in flight per instance id (for metrics and tests). */
  outstanding(): ReadonlyMap<string, number> {
    return this.#outstanding;
  }

  /** Instances out of rotation right now. */
  ejected(): string[] {
    return this.#ejections.ejected(Date.now());
  }

  /** Instances that left the directory are forgotten. */
  forgetAllBut(ids: ReadonlySet<string>): void {
    for (const id of [...this.#outstanding.keys()])
      if (!ids.has(id) && !this.#outstanding.get(id)) this.#outstanding.delete(id);
    for (const id of this.#ejections.ejected(Date.now())) if (!ids.has(id)) this.#ejections.forget(id);
  }

  /** Picks an instance for the next attempt; fails with NoInstanceError when none is registered. */
  async acquire(tried: ReadonlySet<string> = new Set()): Promise<Lease> {
    const all = await this.discovery.instances(this.service);
    if (all.length === 0) throw new NoInstanceError(this.service, this.discovery.namespace);
    const now = Date.now();
    const untried = all.filter((i) => !tried.has(i.id));
    const pool = untried.length ? untried : all;
    const healthy = pool.filter((i) => !this.#ejections.isEjected(i.id, now));
    const candidates = (healthy.length ? healthy : pool).map((instance) => ({
      id: instance.id,
      outstanding: this.#outstanding.get(instance.id) ?? 0,
      instance,
    }));
    const { instance } = this.#picker(candidates);
    this.#outstanding.set(instance.id, (this.#outstanding.get(instance.id) ?? 0) + 1);
    let released = false;
    return {
      instance,
      release: (outcome) => {
        if (released) return;
        released = true;
        this.#outstanding.set(instance.id, Math.max(0, (this.#outstanding.get(instance.id) ?? 1) - 1));
        if (outcome === "success") this.#ejections.succeeded(instance.id);
        else if (outcome === "eject") {
          const ms = this.#ejections.eject(instance.id, Date.now());
          this.discovery.refreshSoon(this.service);
          this.onEject?.(instance, ms);
        }
      },
    };
  }
}
