import type { Logger } from "./log";

/** How a lifecycle ends: a graceful stop (drain, finish in-flight work) or a start that failed half-way. */
export interface Ending {
  graceful: boolean;
}

type Stop<T> = (value: T, ending: Ending) => Promise<unknown> | unknown;

/**
 * The parts of a running process in the order they started. Each part registers its own stop as soon as
 * it is up, so a start that fails half-way and a graceful shutdown take the same path: unwind stops
 * everything started so far, last first, each once; a stop that throws is logged and the rest still run.
 */
export class Lifecycle {
  readonly #stops: { part: string; stop: (ending: Ending) => Promise<unknown> | unknown }[] = [];
  #unwinding: Promise<void> | undefined;

  constructor(private readonly log: Logger) {}

  /** Registers how to stop `part`, which has just started; returns `value` so a start reads as one line. */
  started<T>(part: string, value: T, stop: Stop<T>): T {
    if (this.#unwinding) throw new Error(`${part} started while the process is stopping`);
    this.#stops.push({ part, stop: (ending) => stop(value, ending) });
    return value;
  }

  /** Stops what started, in reverse. Idempotent: later calls wait for the first. */
  unwind(ending: Ending): Promise<void> {
    this.#unwinding ??= (async () => {
      for (let next = this.#stops.pop(); next; next = this.#stops.pop()) {
        try {
          await next.stop(ending);
        } catch (e) {
          this.log.error({ err: e, part: next.part }, `stopping ${next.part} failed`);
        }
      }
    })();
    return this.#unwinding;
  }

  /** What has started and not been stopped, first first (for tests and logs). */
  get parts(): string[] {
    return this.#stops.map((s) => s.part);
  }
}
