// `bun run cli streams`: creates the platform's JetStream streams (events, dead letters, their
// advisories), the consumers' error bucket and every service's durable consumers, or brings them to the
// configured settings (EVENTS_PREFIX, STREAM_REPLICAS, STREAM_MAX_AGE_HOURS, CONSUMER_ACK_WAIT_MS,
// CONSUMER_MAX_DELIVER, …), as the operator. On a platform with identities services may only read
// streams and consumers: this runs before they start (bun run dev does it itself).
import { ConfigError, readConfig, createLogger } from "../services/kit";
import { eventsConfig, provisionEventStreams, EventNames } from "../services/kit/events";
import { PLATFORM_CONSUMERS, PLATFORM_STREAMS } from "../services/platform/communication";
import { natsUrlSetting, runOperatorCommand, withOperatorNats } from "./operator-nats";

class Refused extends Error {}

async function main() {
  let cfg;
  try {
    cfg = { ...eventsConfig(process.env), ...readConfig({ NATS_URL: natsUrlSetting() }) };
  } catch (e) {
    if (e instanceof ConfigError) throw new Refused(e.problems.join("; "));
    throw e;
  }
  await withOperatorNats({ natsUrl: cfg.NATS_URL, name: "streams-cli", fail: (m) => new Refused(m) }, async (nc) => {
    const outcomes = await provisionEventStreams(
      nc,
      new EventNames(cfg.EVENTS_PREFIX),
      cfg,
      createLogger("streams", "silent"),
      { streams: PLATFORM_STREAMS, consumers: PLATFORM_CONSUMERS },
    );
    for (const o of outcomes)
      console.log(`  ${o.outcome.padEnd(10)}${o.stream}${o.changed ? ` (${o.changed.join(", ")})` : ""}`);
    console.log(
      `streams: ${outcomes.length} streams and consumers ready${cfg.EVENTS_PREFIX ? ` (events prefix ${cfg.EVENTS_PREFIX})` : ""}`,
    );
  });
}

runOperatorCommand("streams", main);
