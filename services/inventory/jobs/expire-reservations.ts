import { type Logger, runPeriodically, type PeriodicJob } from "../../kit";
import type { InventoryStore } from "../domain/inventory-store";

/** Reservations expired per transaction; a backlog is worked off in batches of this many, back to back. */
const BATCH = 100;

/**
 * Every `everyMs`, turns ACTIVE reservations past their expiry into EXPIRED and gives their units back.
 * Every replica runs one; the store's SKIP LOCKED lets them share the work. `stop()` waits for a sweep
 * in progress, so the database can be closed right after.
 *
 * @example
 *   const expiry = startReservationExpiry({ store, everyMs: 1000, log });
 *   await expiry.stop();
 */
export function startReservationExpiry({
  store,
  everyMs,
  log,
}: {
  store: InventoryStore;
  everyMs: number;
  log: Logger;
}): PeriodicJob {
  return runPeriodically(
    everyMs,
    async (stopped) => {
      for (;;) {
        const expired = await store.expireOverdue({ limit: BATCH });
        for (const r of expired) log.info({ reservation_id: r.id, order_id: r.orderId }, "reservation expired");
        if (expired.length < BATCH || stopped()) return;
      }
    },
    // A database hiccup is not fatal: the next sweep picks up whatever is still due.
    (e) => log.warn({ err: e }, "reservation expiry sweep failed"),
  );
}
