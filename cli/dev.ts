// `bun run dev`: the whole platform on one machine, one process per service, logs interleaved,
// a table of where everything listens (printed again whenever a service goes down or comes back), a
// service that exits restarted with a backoff, and a clean stop on Ctrl-C.
import { namespaceOf, policyBucketOf } from "../services/kit/nats";
import { connect } from "@nats-io/transport-node";
import type { Subprocess } from "bun";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { eventsConfig, provisionEventStreams, EventNames } from "../services/kit/events";
import { createLogger } from "../services/kit";
import { PLATFORM_CONSUMERS, PLATFORM_STREAMS } from "../services/platform/communication";
import { writeIdentities } from "./identities";
import { connectOperatorNats } from "./operator-nats";
import { RESTART_DEFAULTS, RestartBackoff } from "./restart-backoff";

const ROOT = join(import.meta.dir, "..");
const SERVICES = ["gateway", "order", "payment", "inventory", "customer", "notification", "marketing", "console"];
// Four fresh embedded PGlite databases (no DATABASE_URL) take a while on a small machine.
const START_TIMEOUT_MS = 180_000;
const STOP_TIMEOUT_MS = 15_000;
// DEV_RESTART_BASE_MS / DEV_RESTART_MAX_MS / DEV_RESTART_STABLE_MS tune the supervision (tests use short ones).
const RESTART_BACKOFF = {
  baseMs: Number(process.env.DEV_RESTART_BASE_MS) || RESTART_DEFAULTS.baseMs,
  maxMs: Number(process.env.DEV_RESTART_MAX_MS) || RESTART_DEFAULTS.maxMs,
  stableMs: Number(process.env.DEV_RESTART_STABLE_MS) || RESTART_DEFAULTS.stableMs,
};
const NATS_URL = process.env.NATS_URL || "nats://127.0.0.1:4222";
const DATA_DIR = resolve(process.env.DATA_DIR || join(ROOT, ".data"));
// The services export their spans to the console unless OTEL_EXPORTER_OTLP_ENDPOINT names a collector
// (or the console's port is left to chance: CONSOLE_HTTP_PORT=0).
const CONSOLE_PORT = process.env.CONSOLE_HTTP_PORT || "8087";
const OTLP_ENDPOINT =
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT || (CONSOLE_PORT === "0" ? "" : `http://127.0.0.1:${CONSOLE_PORT}`);

const color = process.stdout.isTTY
  ? (code: number, s: string) => `\x1b[${code}m${s}\x1b[0m`
  : (_: number, s: string) => s;
const say = (line: string) => console.log(color(1, "dev") + " " + line);
const fail = (line: string): never => {
  console.error(`dev: ${line}`);
  process.exit(1);
};

async function natsAnswers(url: string, timeout: number): Promise<boolean> {
  try {
    const nc = await connect({ servers: url.split(","), timeout, reconnect: false });
    await nc.close();
    return true;
  } catch (e) {
    // A server that wants credentials (the one a previous dev started) answers too.
    return /authorization/i.test(String(e));
  }
}

/**
 * The platform's identities (kept in DATA_DIR/identities across runs): each service connects with its
 * own key and checks its callers' tokens; the NATS dev starts allows each only what its role needs.
 */
const identities = writeIdentities({
  dir: join(DATA_DIR, "identities"),
  namespace: namespaceOf(process.env),
  eventsPrefix: eventsConfig(process.env).EVENTS_PREFIX,
  policyBucket: process.env.RESILIENCE_POLICY_BUCKET || policyBucketOf(namespaceOf(process.env)),
});
const identitiesDir = join(DATA_DIR, "identities");

/** The streams and consumers, made by the operator before any service starts: services may only read them. */
async function provisionStreams(): Promise<void> {
  const nc = await connectOperatorNats(NATS_URL, "dev", (m) => new Error(m), "", identities.ids.operator!.seed);
  try {
    const cfg = eventsConfig(process.env);
    const made = (
      await provisionEventStreams(nc, new EventNames(cfg.EVENTS_PREFIX), cfg, createLogger("dev", "silent"), {
        streams: PLATFORM_STREAMS,
        consumers: PLATFORM_CONSUMERS,
      })
    ).filter((o) => o.outcome !== "unchanged");
    if (made.length) say(`streams: ${made.map((o) => `${o.stream} ${o.outcome}`).join(", ")}`);
  } catch (e) {
    fail(`cannot set up the streams on ${NATS_URL} as the operator: ${e instanceof Error ? e.message : e}`);
  } finally {
    await nc.close();
  }
}

/**
 * Uses the NATS at NATS_URL, or starts `nats-server` from PATH with JetStream and the platform's
 * identities when that URL is on this machine.
 */
async function ensureNats(): Promise<Subprocess | undefined> {
  if (await natsAnswers(NATS_URL, 1500)) {
    say(`using NATS at ${NATS_URL}`);
    return undefined;
  }
  const target = new URL(NATS_URL.split(",")[0]!);
  if (!["127.0.0.1", "localhost"].includes(target.hostname))
    fail(`no NATS answers at NATS_URL=${NATS_URL}; start it, or unset NATS_URL to run one here`);
  const binary = Bun.which("nats-server");
  if (!binary)
    fail(
      `no NATS at ${NATS_URL} and no nats-server on PATH: install it (apt install nats-server; it may land in /usr/sbin) or point NATS_URL at one`,
    );
  const storeDir = join(DATA_DIR, "nats");
  mkdirSync(storeDir, { recursive: true });
  const port = target.port || "4222";
  say(
    `no NATS at ${NATS_URL}: starting ${binary} with JetStream and the platform's identities on 127.0.0.1:${port}, data in ${storeDir}`,
  );
  // nats-server takes an include's path relative to the including file, even a path that looks absolute.
  const conf = join(storeDir, "nats.conf");
  writeFileSync(
    conf,
    `listen: 127.0.0.1:${port}\njetstream { store_dir: ${JSON.stringify(storeDir)} }\ninclude ${JSON.stringify(relative(storeDir, join(identitiesDir, "auth.conf")))}\n`,
  );
  const proc = Bun.spawn([binary!, "-c", conf], { stdout: "ignore", stderr: "pipe" });
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null)
      fail(
        `nats-server exited with ${proc.exitCode}: ${(await new Response(proc.stderr).text()).trim().split("\n").at(-1)}`,
      );
    if (await natsAnswers(NATS_URL, 500)) return proc;
    await Bun.sleep(100);
  }
  proc.kill();
  return fail(`nats-server did not answer at ${NATS_URL} within 10 s`);
}

/**
 * The gateway's secrets: from the environment when set, else generated once into DATA_DIR and reused,
 * so `bun run dev` works out of the box and tokens survive a restart. Never in the repo (.data/).
 */
function devSecrets(): { env: Record<string, string>; file?: string } {
  const names = ["GATEWAY_JWT_SECRET", "GATEWAY_ADMIN_API_KEY"] as const;
  if (names.every((n) => process.env[n])) return { env: {} };
  const file = join(DATA_DIR, "dev-secrets.json");
  let saved: Record<string, string> = {};
  if (existsSync(file)) {
    try {
      saved = JSON.parse(readFileSync(file, "utf8"));
    } catch {
      fail(`${file} is not valid JSON; delete it and dev writes a new one`);
    }
  }
  const random = () => Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");
  const env = Object.fromEntries(names.filter((n) => !process.env[n]).map((n) => [n, saved[n] || random()]));
  if (names.some((n) => env[n] && env[n] !== saved[n])) {
    mkdirSync(DATA_DIR, { recursive: true });
    writeFileSync(file, JSON.stringify({ ...saved, ...env }, null, 2) + "\n", { mode: 0o600 });
  }
  return { env, file };
}

interface Child {
  name: string;
  proc: Subprocess<"ignore", "pipe", "pipe">;
  /** Where the running process listens, once it logged its start; cleared when it exits. */
  started?: { id: string; http: string; grpc?: string; ops?: string };
  /** When the running process was spawned, for its uptime when it exits. */
  spawnedAt: number;
  /** Set while it is down and a restart is scheduled. */
  restart?: { at: number; timer: ReturnType<typeof setTimeout> };
  restarts: number;
  backoff: RestartBackoff;
}

const LEVELS: Record<number, string> = { 10: "trace", 20: "debug", 30: "info", 40: "warn", 50: "error", 60: "fatal" };

/** Prints a service's JSON log lines as `name │ level msg {fields}`, and notices its start line. */
async function follow(child: Child, stream: ReadableStream<Uint8Array>, onStarted: () => void) {
  const width = Math.max(...SERVICES.map((s) => s.length));
  const prefix = color(36, child.name.padEnd(width)) + " │ ";
  let buffered = "";
  const decoder = new TextDecoder();
  for await (const chunk of stream) {
    buffered += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      let entry: Record<string, unknown> | undefined;
      try {
        entry = JSON.parse(line);
      } catch {}
      if (!entry) {
        console.log(prefix + line);
        continue;
      }
      const { level, time, service, pid, msg, ...fields } = entry;
      const levelName = LEVELS[level as number] ?? String(level);
      const tint = (level as number) >= 50 ? 31 : (level as number) >= 40 ? 33 : 2;
      console.log(
        `${prefix}${color(tint, levelName.padEnd(5))} ${msg}${Object.keys(fields).length ? " " + color(2, JSON.stringify(fields)) : ""}`,
      );
      if (msg === `${child.name} started`) {
        child.started = {
          id: String(fields.id),
          http: String(fields.http),
          grpc: fields.grpc as string | undefined,
          ops: fields.ops as string | undefined,
        };
        onStarted();
      }
    }
  }
}

const nats = await ensureNats();
await provisionStreams();
const secrets = devSecrets();
const children: Child[] = [];
let stopping = false;

async function stopAll(code: number): Promise<never> {
  if (stopping) return new Promise<never>(() => {});
  stopping = true;
  say("stopping…");
  for (const c of children) if (c.restart) clearTimeout(c.restart.timer);
  for (const c of children) if (c.proc.exitCode === null) c.proc.kill("SIGTERM");
  const killer = setTimeout(() => {
    for (const c of children) if (c.proc.exitCode === null) c.proc.kill("SIGKILL");
  }, STOP_TIMEOUT_MS);
  await Promise.all(children.map((c) => c.proc.exited));
  clearTimeout(killer);
  if (nats) {
    nats.kill("SIGTERM");
    await nats.exited;
  }
  say("all stopped");
  process.exit(code);
}
process.on("SIGINT", () => void stopAll(0));
process.on("SIGTERM", () => void stopAll(0));

let firstTablePrinted = false;
let allStarted!: () => void;
const everyoneUp = new Promise<void>((resolve) => (allStarted = resolve));

/** Starts (or starts again) a service's process and follows its output and its exit. */
function spawnService(child: Child): void {
  // A process group of its own, so Ctrl-C reaches the services only through the orderly stop below.
  child.proc = Bun.spawn(["bun", join(ROOT, "services", child.name, "main.ts")], {
    cwd: ROOT,
    env: {
      ...process.env,
      NATS_URL,
      ...secrets.env,
      NATS_NKEY_SEED_FILE: join(identitiesDir, `${child.name}.seed`),
      PLATFORM_PUBLIC_KEYS: identities.publicKeys,
      // The console does not trace itself into itself; its edits and replays are the operator's.
      ...(child.name === "console"
        ? { CONSOLE_OPERATOR_SEED_FILE: join(identitiesDir, "operator.seed") }
        : OTLP_ENDPOINT
          ? { OTEL_EXPORTER_OTLP_ENDPOINT: OTLP_ENDPOINT }
          : {}),
    },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    detached: true,
  });
  child.spawnedAt = Date.now();
  const proc = child.proc;
  const up = () => {
    if (child.restarts)
      say(`${child.name} restarted (restart ${child.restarts}, pid ${proc.pid}): ${child.started!.http}`);
    if (firstTablePrinted) printTable();
    else if (children.every((c) => c.started)) allStarted();
  };
  void follow(child, proc.stdout, up);
  void follow(child, proc.stderr, up);
  proc.exited.then((code) => {
    if (stopping || child.proc !== proc) return;
    child.started = undefined;
    const uptimeMs = Date.now() - child.spawnedAt;
    const { delayMs, inARow } = child.backoff.next(uptimeMs);
    const how = proc.signalCode ? `was killed (${proc.signalCode})` : `exited with code ${code}`;
    console.error(
      `dev: ${child.name} ${how} after ${(uptimeMs / 1000).toFixed(1)} s; restarting in ${(delayMs / 1000).toFixed(1)} s` +
        (inARow > 1 ? ` (exit ${inARow} in a row)` : ""),
    );
    child.restarts++;
    child.restart = {
      at: Date.now() + delayMs,
      timer: setTimeout(() => {
        child.restart = undefined;
        if (!stopping) spawnService(child);
      }, delayMs),
    };
    if (firstTablePrinted) printTable();
  });
}

for (const name of SERVICES) {
  const child = { name, restarts: 0, backoff: new RestartBackoff(RESTART_BACKOFF) } as Child;
  children.push(child);
  spawnService(child);
}

const timer = setTimeout(() => {
  const missing = children.filter((c) => !c.started).map((c) => c.name);
  console.error(`dev: ${missing.join(", ")} did not start within ${START_TIMEOUT_MS / 1000} s`);
  void stopAll(1);
}, START_TIMEOUT_MS);
// Progress while the slow ones (first PGlite boot, say) are still coming up.
const progress = setInterval(() => {
  const waiting = children.filter((c) => !c.started).map((c) => c.name);
  if (waiting.length) say(`still starting: ${waiting.join(", ")}`);
}, 10_000);
await everyoneUp;
clearTimeout(timer);
clearInterval(progress);

/** Where each service listens now: the ones down say so, with when they come back. */
function printTable(): void {
  firstTablePrinted = true;
  const rows = children.map((c) =>
    c.started
      ? [
          c.name,
          "up",
          String(c.proc.pid),
          c.started.http,
          c.started.grpc ?? "-",
          c.started.ops ?? "(on http)",
          c.started.id,
        ]
      : [
          c.name,
          c.restart ? `down, restart in ${Math.max(0, Math.ceil((c.restart.at - Date.now()) / 1000))} s` : "starting",
          c.restart ? "-" : String(c.proc.pid),
          "-",
          "-",
          "-",
          "-",
        ],
  );
  const header = [
    "service",
    "state",
    "pid",
    "http (Connect, gRPC-Web, REST)",
    "grpc (h2c)",
    "probes, metrics",
    "instance id",
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  const adminKey = process.env.GATEWAY_ADMIN_API_KEY || secrets.env.GATEWAY_ADMIN_API_KEY;
  const keyLine = `gateway admin key (X-API-Key): ${adminKey}${secrets.file && secrets.env.GATEWAY_ADMIN_API_KEY ? ` · dev secrets in ${secrets.file}` : " · from GATEWAY_ADMIN_API_KEY"}`;
  const natsLine = `NATS ${NATS_URL}${nats ? " (started by dev, with the platform's identities)" : ""} · identities in ${identitiesDir} (the CLI connects as the operator) · Ctrl-C stops everything`;
  const tokenLine = "a token for grpcurl / buf curl / curl on a service's ports: bun run cli token --for <service>";
  const supervision = "a service that exits is restarted (0.5 s, doubling up to 30 s while it keeps exiting)";
  const consoleUrl = children.find((c) => c.name === "console")?.started?.http ?? "(not up)";
  const consoleLine = `console ${consoleUrl} (log in with the gateway admin key) · traces to ${OTLP_ENDPOINT || "nowhere (OTEL_EXPORTER_OTLP_ENDPOINT unset)"}`;
  console.log(
    [
      "",
      color(1, line(header)),
      ...rows.map(line),
      "",
      consoleLine,
      keyLine,
      natsLine,
      tokenLine,
      supervision,
      "",
    ].join("\n"),
  );
}
printTable();
