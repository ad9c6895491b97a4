import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { OPERATOR, serviceConfig, type ServiceContext, type ServiceParts } from "../kit";
import { DeadLetters, EventNames } from "../kit/events";
import { connectNats } from "../kit/nats";
import { readTrust, type Identity } from "../kit/trust";
import { PLATFORM, PLATFORM_STREAMS } from "../platform/communication";
import { ConsoleData } from "./app/console-data";
import { consoleConfig } from "./config";
import { consoleRoutes } from "./http/console-routes";
import { Sessions } from "./http/sessions";
import { SnapshotHistory, takeSnapshot } from "./platform/platform-snapshot";
import { PolicyStore } from "./platform/policies";
import { TraceStore } from "./traces/trace-store";

/** The services someone calls on this platform: each is a target with policies. */
const TARGETS = [...new Set(Object.values(PLATFORM).flatMap((r) => r.calls))].sort();

/**
 * The console's parts: the sampler of instances (every CONSOLE_SAMPLE_MS), the trace store the
 * OTLP route fills, the bus readers, and the connection operator actions go through.
 */
export async function buildConsole({
  env,
  nats,
  namespace,
  trustedRegistration,
  log,
}: ServiceContext): Promise<ServiceParts> {
  const cfg = consoleConfig(env);
  const operator = await operatorConnection(cfg.CONSOLE_OPERATOR_SEED_FILE, env, log);
  const writer = operator?.nc ?? nats;
  const names = new EventNames(cfg.EVENTS_PREFIX);
  const history = new SnapshotHistory(() => takeSnapshot(nats, { namespace, trusted: trustedRegistration }), {
    intervalMs: cfg.CONSOLE_SAMPLE_MS,
    keep: 60,
    onError: (e) => log.warn({ err: e }, "console: could not read the instances"),
  }).start();
  const traces = new TraceStore({ maxTraces: cfg.CONSOLE_TRACE_LIMIT, maxSpansPerTrace: cfg.CONSOLE_SPANS_PER_TRACE });
  const data = new ConsoleData({
    history,
    traces,
    policies: new PolicyStore(nats, cfg.RESILIENCE_POLICY_BUCKET, writer, cfg.STREAM_REPLICAS),
    jsm: await jetstreamManager(nats),
    deadLetters: new DeadLetters(await jetstreamManager(writer), jetstream(writer), names, {
      signer: operator?.identity,
    }),
    names,
    streams: PLATFORM_STREAMS,
    targets: TARGETS,
    replayWaitMs: 10_000,
  });
  const sessions = new Sessions(cfg.GATEWAY_ADMIN_API_KEY, cfg.CONSOLE_SESSION_HOURS * 3_600_000);
  return {
    rest: consoleRoutes({ data, traces, sessions, refreshMs: cfg.CONSOLE_SAMPLE_MS }),
    async stop() {
      history.stop();
      await operator?.nc.drain();
    },
  };
}

/** A connection as the operator, when the console was given the operator's seed. */
async function operatorConnection(
  seedFile: string,
  env: ServiceContext["env"],
  log: ServiceContext["log"],
): Promise<{ nc: NatsConnection; identity: Identity } | undefined> {
  if (!seedFile) return undefined;
  const identity = readTrust(OPERATOR, { NATS_NKEY_SEED_FILE: seedFile }).identity!;
  const cfg = serviceConfig("console", { http: 0 }, env);
  const nc = await connectNats({
    url: cfg.NATS_URL,
    name: "console-operator",
    log,
    seed: identity.seed,
    caFile: cfg.NATS_CA_FILE || undefined,
  });
  return { nc, identity };
}
