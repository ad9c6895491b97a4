import type { JsMsg } from "@nats-io/jetstream";
import { REPLAY_FOR, REPLAY_OF } from "../cloud-event-headers";
import type { ConsumerContext } from "./consumer-context";
import type { Delivery } from "./delivery";

/** Whether `m` is a dead letter's replay for another consumer of the stream: the operator replays to one. */
export function replayForAnother(ctx: ConsumerContext, m: JsMsg): boolean {
  const replayFor = m.headers?.get(REPLAY_FOR);
  return Boolean(replayFor && replayFor !== ctx.def.name);
}

/**
 * Once a replayed dead letter's event is handled: resolves the letter, when the replay is the operator's.
 * It never fails the event, which is handled either way; what happened is logged.
 */
export async function resolveReplay(ctx: ConsumerContext, d: Delivery): Promise<void> {
  const replayOf = Number(d.m.headers?.get(REPLAY_OF));
  if (!replayOf) return;
  const resolved = await ctx.deadLetters.resolveReplayed(d.m.headers, ctx.def.name).catch((e) => {
    d.log.warn({ err: e, dlq_id: replayOf }, "cannot resolve the replayed dead letter");
    return undefined;
  });
  if (resolved) d.log.info({ dlq_id: replayOf }, "replayed dead letter handled; entry resolved");
  else if (resolved === false)
    d.log.warn(
      { dlq_id: replayOf },
      "the copy's replay of that dead letter is not the operator's (or the entry is gone); left alone",
    );
}
