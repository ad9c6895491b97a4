import type { ConsumerContext } from "./consumer-context";
import { handlerContext, type Delivery } from "./delivery";
import { claimEvent, recordHandled, wasHandled } from "./inbox";
import { settleFailed, settleHandled } from "./settle";

/** One event in a transaction of its own (or, for ownTransactions handlers, none), then settled. */
export async function handleEvent(ctx: ConsumerContext, d: Delivery): Promise<void> {
  let fresh: boolean;
  try {
    fresh = d.handler.ownTransactions ? await handleOutside(ctx, d) : await handleInside(ctx, d);
  } catch (e) {
    return settleFailed(ctx, d, e);
  }
  await settleHandled(ctx, d, fresh);
}

/** In a transaction with its inbox row; false when the event was handled before. */
function handleInside(ctx: ConsumerContext, d: Delivery): Promise<boolean> {
  return ctx.db.transaction(async (tx) => {
    // The inbox row first: a concurrent copy of the same event waits here, then finds it taken.
    if (!(await claimEvent(tx, d.row))) return false;
    await d.handler.handle(d.event, handlerContext(d, tx));
    return true;
  });
}

/** An ownTransactions handler: the inbox is looked at before it and written after it (see `on`). */
async function handleOutside(ctx: ConsumerContext, d: Delivery): Promise<boolean> {
  if (await wasHandled(ctx.db, d.row)) return false;
  await d.handler.handle(d.event, handlerContext(d, ctx.db));
  await recordHandled(ctx.db, d.row);
  return true;
}
