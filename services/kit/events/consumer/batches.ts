/**
 * Groups work that is handed in one item at a time into batches for `run`. A batch starts as soon as fewer
 * than `parallel` are running, with what has come in by the next turn of the event loop (at most `max`
 * items). While the batches in flight run, the next items wait and pile up, so the batches grow with the
 * load and stay small when it is light: no timer holds back an item. Each item's promise settles once its
 * batch has run, and rejects with the batch's error if `run` rejects.
 *
 * @example
 *   const handle = batches((msgs) => handleInOneTransaction(msgs), { max: 32, parallel: 2 });
 *   await handle(msg);
 */
export function batches<T>(
  run: (items: T[]) => Promise<void>,
  opts: { max: number; parallel: number },
): (item: T) => Promise<void> {
  const waiting: { item: T; resolve: () => void; reject: (e: unknown) => void }[] = [];
  let running = 0;
  let startScheduled = false;

  const start = () => {
    startScheduled = false;
    while (running < opts.parallel && waiting.length) {
      const batch = waiting.splice(0, opts.max);
      running++;
      const finished = (failure?: { error: unknown }) => {
        running--;
        for (const b of batch) failure ? b.reject(failure.error) : b.resolve();
        start();
      };
      run(batch.map((b) => b.item)).then(
        () => finished(),
        (error) => finished({ error }),
      );
    }
  };

  return (item) =>
    new Promise<void>((resolve, reject) => {
      waiting.push({ item, resolve, reject });
      if (!startScheduled && running < opts.parallel) {
        startScheduled = true;
        setImmediate(start);
      }
    });
}
