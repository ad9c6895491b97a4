import { resumeTarget } from "../domain/saga";
import { driveSaga, type DriveEnd, type SagaDeps } from "./drive-saga";
import { OrderRefusal } from "../domain/refusal";
import { withOrderLease } from "./order-lease";
import { runPeriodically, type PeriodicJob } from "../../kit";

export interface RecoveryReport {
  orderId: string;
  /** The state it was found in, and how long it had been left there. */
  from: string;
  stuckMs: number;
  /** Where it is now, and how the drive ended. */
  to: string;
  end: DriveEnd;
}

/**
 * One pass of the recovery worker: takes up every order whose saga stopped half-way with nobody working
 * on it (a crash, a lost connection, a step that failed and is due again), up to `limit`, and drives it
 * forward or back from its recorded state. Any replica may run it: the lease lets one at a time work on
 * an order, and a held one is skipped.
 */
export async function recoverOrders(
  deps: SagaDeps,
  { limit = 20 }: { limit?: number } = {},
): Promise<RecoveryReport[]> {
  const now = deps.now ?? Date.now;
  const reports: RecoveryReport[] = [];
  for (const { id, since } of await deps.orders.due(limit)) {
    try {
      const report = await withOrderLease(deps.orders, id, deps.leaseMs, async (order, lease) => {
        if (order.target === "") return undefined; // finished meanwhile
        const target = resumeTarget(order);
        const resumed =
          target === order.target
            ? order
            : await deps.orders.record(
                id,
                { target, stateReason: `confirmation interrupted before the charge; nothing was charged` },
                { lease, leaseMs: deps.leaseMs },
              );
        const driven = await driveSaga(deps, resumed, { lease, recovering: true });
        return {
          orderId: id,
          from: order.state,
          stuckMs: now() - since.getTime(),
          to: driven.order.state,
          end: driven.end,
        };
      });
      if (report) reports.push(report);
    } catch (e) {
      // Someone else took it up first (busy) or it vanished: nothing to do. Anything else waits for the next pass.
      if (e instanceof OrderRefusal) continue;
      deps.log.warn({ orderId: id, err: e }, "recovering an order failed; the next pass tries again");
    }
  }
  return reports;
}

/**
 * The recovery worker: a pass every `everyMs` (back to back while a pass finds a full page), until
 * stopped; `stop()` waits for a pass in progress. `onRecovered` sees every order it took up.
 */
export function startOrderRecovery(
  deps: SagaDeps,
  { everyMs, onRecovered }: { everyMs: number; onRecovered?: (r: RecoveryReport) => void },
): PeriodicJob {
  const limit = 20;
  return runPeriodically(
    everyMs,
    async (stopped) => {
      for (;;) {
        const reports = await recoverOrders(deps, { limit });
        for (const r of reports) onRecovered?.(r);
        // A full page may have more behind it; a page of orders others hold (or all failing) waits for the next pass.
        if (reports.length < limit || stopped()) return;
      }
    },
    // The database away: the next pass tries again.
    (e) => deps.log.warn({ err: e }, "order recovery pass failed"),
  );
}
