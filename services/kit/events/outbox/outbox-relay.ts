import type { JetStreamClient } from "@nats-io/jetstream";
import { asc, isNull, lt, sql } from "drizzle-orm";
import type { Database } from "../../db/database";
import { arrayParameter, fixedQuery } from "../../db/fixed-query";
import type { Logger } from "../../log";
import { eventHeaders } from "../cloud-event-headers";
import type { EventsConfig } from "../events-config";
import type { EventsMetrics } from "../events-metrics";
import { outboxChannel } from "./outbox";
import { outboxTable } from "./outbox-table";
import { PREPARED } from "../prepared";
import { rowsOf } from "./rows";
import { endSend, sendSpan } from "../event-spans";
import { activeTraceparent } from "../../tracing";
import type { EventNames } from "../topology/streams";

const outbox = outboxTable();
// One array parameter (arrayParameter) rather than a list: one statement text for any number of rows.
const markSent = fixedQuery(PREPARED.outboxMarkSent, (db) =>
  db
    .update(outbox)
    .set({ publishedAt: sql`now()` })
    .where(sql`${outbox.id} = any(${sql.placeholder("ids")}::uuid[])`),
);
// The batch to publish, built once with its rows still decoded (ids, times, payload bytes).
const dueRows = fixedQuery(PREPARED.outboxDue, (db) =>
  db.select().from(outbox).where(isNull(outbox.publishedAt)).orderBy(asc(outbox.seq)).limit(sql.placeholder("limit")),
);
/** Published rows are kept this long (for operators and the invariant checker), then deleted. */
const KEEP_PUBLISHED_MS = 7 * 24 * 3_600_000;
const PUBLISH_TIMEOUT_MS = 5000;

export interface OutboxRelay {
  /** Finishes the batch in flight (bounded), then stops listening. */
  stop(): Promise<void>;
}

/**
 * Publishes a service's outbox: unpublished rows in `seq` order, each with `Nats-Msg-Id` = event id (a
 * row published again after a crash is dropped by the stream's duplicate window), then marks them sent.
 * Changes made one after another (one entity's, which its service serialises) keep their order;
 * transactions racing each other may commit out of seq order and are published as they commit.
 *
 * It wakes on LISTEN/NOTIFY (postgres.js, or PGlite's own listen), with a poll every OUTBOX_POLL_MS
 * as a safety net. While NATS is down, rows wait and the relay retries with a growing pause (up to
 * 5 s). With several replicas one relays at a time: a transaction-scoped advisory lock per schema
 * elects it, so the order holds across replicas too.
 */
export async function startOutboxRelay(opts: {
  /** The service's database (any schema type: the outbox is on its search_path) and its driver. */
  db: Database<any>;
  driver: "postgres" | "pglite";
  schema: string;
  source: string;
  js: JetStreamClient;
  names: EventNames;
  cfg: EventsConfig;
  log: Logger;
  metrics: EventsMetrics;
}): Promise<OutboxRelay> {
  const { db, schema, js, names, cfg, log } = opts;
  const log_ = log.child({ component: "outbox-relay" });
  const published = opts.metrics.published;

  let stopped = false;
  let woken = false;
  let wakeUp: (() => void) | undefined;
  const wake = () => {
    woken = true;
    wakeUp?.();
  };
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        wakeUp = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      wakeUp = done;
    });

  const unlisten = await listen(db, opts.driver, outboxChannel(schema), wake);
  let lastPrune = 0;
  // The key as a literal: a query without parameters goes out in one round trip (see PREPARED).
  const electLeader = sql.raw(
    `select pg_try_advisory_xact_lock(hashtext('outbox:${schema.replaceAll("'", "''")}')) as leader`,
  );

  const relayOnce = () =>
    db.transaction(async (tx) => {
      const [lock] = rowsOf<{ leader: boolean }>(await tx.execute(electLeader));
      if (!lock?.leader) return { sent: 0, leader: false, failure: undefined as unknown };
      const due = await dueRows(tx, { limit: cfg.OUTBOX_BATCH });
      const sent: string[] = [];
      let failure: unknown;
      if (cfg.OUTBOX_RELAY_HALT === "before_publish" && due.length)
        await halt(
          log_,
          "before_publish",
          due.map((r) => r.id),
        );
      // Published in waves with each entity at most once per wave, every wave's acks awaited together: one
      // connection keeps the publishing order, and a failed row stops its entity's later rows (in a later
      // wave) from going out before it. Other entities' rows of the failed wave that went out are marked.
      for (const wave of waves(due)) {
        const acks = await Promise.allSettled(
          wave.map((row) => {
            const send = sendSpan(row.subject, row.id, row.traceparent);
            const ack = js.publish(names.subject(row.subject), row.payload, {
              msgID: row.id,
              headers: eventHeaders({
                id: row.id,
                type: row.type,
                source: opts.source,
                time: row.createdAt,
                subject: row.entityId,
                // The producer's context, stored with the row: after a crash too, the event continues its trace.
                traceparent: send ? activeTraceparent(send) : row.traceparent,
              }),
              timeout: PUBLISH_TIMEOUT_MS,
            });
            if (send)
              ack.then(
                () => endSend(send),
                (e) => endSend(send, e),
              );
            return ack;
          }),
        );
        acks.forEach((ack, i) => {
          if (ack.status === "fulfilled") {
            published.inc({ type: wave[i]!.type, duplicate: String(ack.value.duplicate) });
            sent.push(wave[i]!.id);
          } else failure ??= ack.reason;
        });
        if (failure) break;
      }
      if (cfg.OUTBOX_RELAY_HALT === "after_publish" && sent.length) await halt(log_, "after_publish", sent);
      // What went out is marked even when a later row failed: the failed one and those after it wait.
      if (sent.length) await markSent(tx, { ids: arrayParameter(sent) });
      if (Date.now() - lastPrune > 3_600_000) {
        lastPrune = Date.now();
        await tx
          .delete(outbox)
          .where(lt(outbox.publishedAt, sql`now() - make_interval(secs => ${KEEP_PUBLISHED_MS / 1000})`));
      }
      return { sent: sent.length, leader: true, failure };
    });

  const loop = (async () => {
    let failures = 0;
    while (!stopped) {
      woken = false;
      let outcome: Awaited<ReturnType<typeof relayOnce>>;
      try {
        outcome = await relayOnce();
      } catch (e) {
        outcome = { sent: 0, leader: true, failure: e };
      }
      if (outcome.sent) log_.debug({ sent: outcome.sent }, "outbox rows published");
      if (outcome.failure) {
        failures++;
        // Rows wait in the table; NATS (or the database) being down is the usual reason.
        if (failures === 1 || failures % 20 === 0)
          log_.warn({ err: outcome.failure, failures }, "outbox relay cannot publish; rows wait");
        await pause(Math.min(100 * 2 ** failures, 5000));
        continue;
      }
      if (failures) log_.info({ after_failures: failures }, "outbox relay publishing again");
      failures = 0;
      if (outcome.leader && outcome.sent === cfg.OUTBOX_BATCH) continue; // more are waiting
      if (!woken && !stopped) await pause(cfg.OUTBOX_POLL_MS);
    }
  })();

  return {
    async stop() {
      stopped = true;
      wakeUp?.();
      // A halted relay (test knob) or a hung publish must not hold the shutdown forever.
      await Promise.race([loop, Bun.sleep(PUBLISH_TIMEOUT_MS + 1000)]);
      await unlisten().catch(() => {});
    },
  };
}

/** Splits rows (in seq order) into runs in which no entity appears twice (rows without one promise no order). */
function waves<R extends { entityId: string }>(rows: R[]): R[][] {
  const out: R[][] = [];
  let wave: R[] = [];
  let entities = new Set<string>();
  for (const row of rows) {
    const entity = row.entityId;
    if (entity && entities.has(entity)) {
      out.push(wave);
      wave = [];
      entities = new Set();
    }
    wave.push(row);
    if (entity) entities.add(entity);
  }
  if (wave.length) out.push(wave);
  return out;
}

/** LISTEN on the service's own database, whichever driver is under drizzle. */
async function listen(
  db: Database<any>,
  driver: "postgres" | "pglite",
  channel: string,
  onNotify: () => void,
): Promise<() => Promise<void>> {
  if (driver === "postgres") {
    // onlisten (the third argument) runs on every (re)connect, when notifications may have been missed.
    const client = (db as unknown as { $client: import("postgres").Sql }).$client;
    const { unlisten } = await client.listen(channel, onNotify, onNotify);
    return unlisten;
  }
  const client = (db as unknown as { $client: import("@electric-sql/pglite").PGlite }).$client;
  return client.listen(channel, onNotify);
}

async function halt(log: Logger, where: string, eventIds: string[]): Promise<never> {
  log.warn(
    { outbox_halt: where, event_ids: eventIds },
    `outbox relay halted ${where.replace("_", " ")} (OUTBOX_RELAY_HALT)`,
  );
  return new Promise<never>(() => {});
}
