/** A job that runs in passes until stopped: a reservation sweep, a recovery worker. */
export interface PeriodicJob {
  /** No pass starts after this; resolves once a pass in progress ended, so what it uses can be closed. */
  stop(): Promise<void>;
}

/**
 * Runs `pass` every `everyMs`, never two at once (the next is scheduled when one ends), until stopped.
 * `pass` may loop over a backlog; `stopped()` tells it to leave early. A pass that throws (the database
 * away, say) is reported to `failed` and the next one tries again.
 */
export function runPeriodically(
  everyMs: number,
  pass: (stopped: () => boolean) => Promise<void>,
  failed: (e: unknown) => void,
): PeriodicJob {
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<void> = Promise.resolve();
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = pass(() => stopped)
        .catch(failed)
        .finally(schedule);
    }, everyMs);
  };
  schedule();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
