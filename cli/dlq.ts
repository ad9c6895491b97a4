// `bun cli/dlq.ts list | show <id> | replay <id>|--all | purge [<id>]`: the dead letters of the platform
// (EVENTS_PREFIX) on NATS_URL. A replayed message goes back to the consumer it died in; its entry is
// resolved (removed) by that consumer once it handled it, which `replay` waits for.
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { ConfigError, integer, readConfig, url } from "../services/kit";
import {
  DeadLetters,
  type DeadLetter,
  eventsConfig,
  EventNames,
  letterDetail,
  letterSummary,
} from "../services/kit/events";
import { traceIdOf } from "../services/kit/tracing";
import { PLATFORM_STREAMS } from "../services/platform/communication";
import { connectOperatorNats, operatorIdentity } from "./operator-nats";

const USAGE = `usage: bun cli/dlq.ts <command>
  list [--json]              every dead letter: id, when, consumer, event, deliveries, reason, trace id
  show <id> [--json]         one dead letter: headers and the decoded event
  replay <id>|--all [--no-wait]
                             put the message back to its consumer; waits until it was handled
                             (DLQ_REPLAY_WAIT_MS) and says whether the entry is resolved
  purge [<id>]               remove every dead letter (or one)
env: NATS_URL, EVENTS_PREFIX, DLQ_REPLAY_WAIT_MS`;

/** Exit codes: 0 done, 1 not done (unknown id, replay not handled in time), 2 bad usage or no connection. */
async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  const flags = new Set(args.filter((a) => a.startsWith("--")));
  const positional = args.filter((a) => !a.startsWith("--"));
  if (!command || !["list", "show", "replay", "purge"].includes(command))
    return usage(command ? `unknown command "${command}"` : "");

  let cfg;
  try {
    cfg = {
      ...readConfig({
        NATS_URL: url("nats://127.0.0.1:4222", ["nats", "tls", "ws", "wss"]),
        DLQ_REPLAY_WAIT_MS: integer(10_000, { min: 0, max: 600_000 }),
      }),
      ...eventsConfig(process.env),
    };
  } catch (e) {
    console.error(`dlq: ${e instanceof ConfigError ? e.message : e}`);
    return 2;
  }
  const id = positional[0] === undefined ? undefined : Number(positional[0]);
  if (id !== undefined && (!Number.isInteger(id) || id <= 0))
    return usage(`"${positional[0]}" is not a dead letter id (a positive integer)`);
  if ((command === "show" || (command === "replay" && !flags.has("--all"))) && id === undefined)
    return usage(`${command} needs an id`);

  let nc;
  try {
    nc = await connectOperatorNats(cfg.NATS_URL, "dlq-cli", (m) => new Error(m));
  } catch (e) {
    console.error(`dlq: ${e instanceof Error ? e.message : e}`);
    return 2;
  }
  try {
    const jsm = await jetstreamManager(nc);
    // Replays are signed with the operator's key: only those resolve a dead letter on a platform with identities.
    const dlq = new DeadLetters(jsm, jetstream(nc), new EventNames(cfg.EVENTS_PREFIX), { signer: operatorIdentity() });
    switch (command) {
      case "list": {
        const letters = await dlq.list();
        if (flags.has("--json")) console.log(JSON.stringify(letters.map(letterSummary)));
        else if (letters.length === 0) console.log("no dead letters");
        else
          for (const l of letters)
            console.log(
              `${l.id}\t${l.failedAt.toISOString()}\t${l.consumer}\t${l.eventType || l.subject}\t${l.eventId}\t${l.kind} after ${l.deliveries}\t${l.reason}\ttrace ${traceIdOf(l.headers.traceparent) || "-"}`,
            );
        return 0;
      }
      case "show": {
        const letter = await dlq.get(id!);
        if (!letter) return notFound(id!);
        const shown = letterDetail(letter, PLATFORM_STREAMS);
        console.log(flags.has("--json") ? JSON.stringify(shown) : JSON.stringify(shown, null, 2));
        return 0;
      }
      case "replay": {
        const ids = flags.has("--all") ? (await dlq.list()).map((l) => l.id) : [id!];
        if (ids.length === 0) console.log("no dead letters");
        let open = 0;
        const replayed: DeadLetter[] = [];
        for (const one of ids) {
          const letter = await dlq.get(one);
          if (!letter) {
            notFound(one);
            open++;
            continue;
          }
          await dlq.replay(one);
          replayed.push(letter);
          console.log(
            `replayed ${one} (${letter.eventType} ${letter.eventId}) to ${letter.consumer} on ${letter.subject}`,
          );
        }
        if (flags.has("--no-wait")) return open ? 1 : 0;
        if (replayed.length)
          console.log(
            `waiting up to ${seconds(cfg.DLQ_REPLAY_WAIT_MS)} s per letter for ${[...new Set(replayed.map((l) => l.consumer))].join(", ")} to handle ${replayed.length === 1 ? "it" : `the ${replayed.length} replayed`} (DLQ_REPLAY_WAIT_MS; --no-wait returns at once)`,
          );
        for (const one of replayed) {
          // Gone means handled, unless the copy died too: then its new entry replaced this one.
          const gone = await waitUntil(async () => !(await dlq.get(one.id)), cfg.DLQ_REPLAY_WAIT_MS, {
            say: (waitedMs) =>
              console.log(
                `  still waiting for ${one.consumer} to handle ${one.id} (${seconds(waitedMs)} of ${seconds(cfg.DLQ_REPLAY_WAIT_MS)} s)`,
              ),
          });
          const again = gone
            ? (await dlq.list()).find((l) => l.id > one.id && l.consumer === one.consumer && l.eventId === one.eventId)
            : undefined;
          if (gone && !again) console.log(`resolved ${one.id}: ${one.consumer} handled it`);
          else {
            open++;
            if (again) console.log(`failed again ${one.id}: now dead letter ${again.id}: ${again.reason}`);
            else
              console.log(
                `not resolved ${one.id}: ${one.consumer} did not handle it within ${cfg.DLQ_REPLAY_WAIT_MS} ms; it is still in the DLQ`,
              );
          }
        }
        return open ? 1 : 0;
      }
      case "purge": {
        if (id !== undefined) {
          if (!(await dlq.resolve(id))) return notFound(id);
          console.log(`purged ${id}`);
        } else console.log(`purged ${await dlq.purge()} dead letters`);
        return 0;
      }
    }
    return 2;
  } catch (e) {
    if (/stream not found/i.test(String(e)))
      console.error(
        `dlq: there is no stream ${new EventNames(cfg.EVENTS_PREFIX).stream("DLQ")} at NATS_URL=${cfg.NATS_URL}: no service of this platform (EVENTS_PREFIX="${cfg.EVENTS_PREFIX}") has started there`,
      );
    else console.error(`dlq: ${e instanceof Error ? e.message : e}`);
    return 2;
  } finally {
    await nc.close();
  }
}

const seconds = (ms: number) => String(Math.round(ms / 100) / 10);

/**
 * Polls `condition` until it holds or `timeoutMs` passed; while it waits, `say` hears how long it has
 * waited every `everyMs`, so a wait of seconds is never silent.
 */
export async function waitUntil(
  condition: () => Promise<boolean>,
  timeoutMs: number,
  { say = (_waitedMs: number) => {}, everyMs = 2000, pollMs = 100 } = {},
): Promise<boolean> {
  const started = Date.now();
  const deadline = started + timeoutMs;
  let nextSay = started + everyMs;
  for (;;) {
    if (await condition()) return true;
    const now = Date.now();
    if (now >= deadline) return false;
    if (now >= nextSay) {
      say(now - started);
      nextSay += everyMs;
    }
    await Bun.sleep(Math.min(pollMs, deadline - now));
  }
}

function notFound(id: number): number {
  console.error(`dlq: no dead letter ${id}`);
  return 1;
}

function usage(problem: string): number {
  if (problem) console.error(`dlq: ${problem}`);
  console.error(USAGE);
  return 2;
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
