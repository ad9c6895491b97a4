// `bun run dev` on a machine with no NATS running at NATS_URL: it starts nats-server itself, boots
// every service, prints where they listen, and on Ctrl-C (SIGINT) stops all of it, NATS included.
import { expect, test } from "bun:test";
import { connect, nkeyAuthenticator } from "@nats-io/transport-node";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { waitFor, testSchemas } from "../../services/kit/testing";

const SERVICES = ["gateway", "order", "payment", "inventory", "customer", "notification", "marketing", "console"];

function freePort(): number {
  const probe = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = probe.port!;
  probe.stop(true);
  return port;
}

test("dev starts NATS and every service, restarts one that was killed, and stops them all on SIGINT", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "dev-"));
  // Postgres rather than four fresh PGlite databases, which would take most of a minute of CPU here.
  const db = testSchemas();
  const natsUrl = `nats://127.0.0.1:${freePort()}`;
  const ports = Object.fromEntries(
    SERVICES.flatMap((s) => [
      [`${s.toUpperCase()}_HTTP_PORT`, "0"],
      [`${s.toUpperCase()}_GRPC_PORT`, "0"],
      [`${s.toUpperCase()}_OPS_PORT`, "0"],
    ]),
  );
  const dev = Bun.spawn(["bun", join(import.meta.dir, "../../cli/dev.ts")], {
    env: {
      ...process.env,
      ...ports,
      ...db.prefixEnv("order", "payment", "inventory", "customer", "notification", "marketing"),
      NATS_URL: natsUrl,
      DATA_DIR: dataDir,
      MAILBOX_DIR: join(dataDir, "mailbox"),
      DEV_RESTART_BASE_MS: "200",
    },
    stdout: "pipe",
    stderr: "pipe",
  });
  let out = "";
  let err = "";
  (async () => {
    for await (const chunk of dev.stdout) out += new TextDecoder().decode(chunk);
  })();
  (async () => {
    for await (const chunk of dev.stderr) err += new TextDecoder().decode(chunk);
  })();
  try {
    await waitFor(() => out.includes("Ctrl-C stops everything"), {
      timeoutMs: 30_000,
      what: `the table; output so far:\n${out}`,
    });
    expect(out).toContain(`starting`);
    const table = out.slice(out.indexOf("instance id"));
    for (const s of SERVICES) expect(table).toMatch(new RegExp(`\\n${s} +up +\\d+ +http://127\\.0\\.0\\.1:[1-9]\\d*`));

    // dev's NATS knows the platform's identities: nobody else gets in; the operator sees every service.
    expect(String(await connect({ servers: natsUrl, reconnect: false }).catch((e) => e))).toMatch(
      /Authorization Violation/i,
    );
    const seed = new TextEncoder().encode(readFileSync(join(dataDir, "identities", "operator.seed"), "utf8").trim());
    const nc = await connect({ servers: natsUrl, authenticator: nkeyAuthenticator(seed) });
    const info = await nc.request("$SRV.PING", "", { timeout: 1000, noMux: true }).catch(() => undefined);
    expect(info).toBeDefined();
    await nc.close();
    expect(out).toContain("with the platform's identities");
    expect(out).toMatch(/\nconsole http:\/\/127\.0\.0\.1:[1-9]\d* \(log in with the gateway admin key\)/);

    // Supervision: payment killed with SIGKILL is restarted, the table says so, the others stay up.
    const pidOf = (text: string, s: string) => Number(new RegExp(`\\n${s} +up +(\\d+) `).exec(text)?.[1]);
    const killedPid = pidOf(table, "payment");
    const before = out.length;
    process.kill(killedPid, "SIGKILL");
    await waitFor(() => err.includes("dev: payment was killed (SIGKILL) after"), {
      timeoutMs: 10_000,
      what: `dev to notice the kill; stderr:\n${err}`,
    });
    expect(err).toMatch(/dev: payment was killed \(SIGKILL\) after [\d.]+ s; restarting in 0\.2 s/);
    await waitFor(() => out.slice(before).includes("payment restarted (restart 1"), {
      timeoutMs: 60_000,
      what: `payment restarted; output since the kill:\n${out.slice(before)}`,
    });
    // The table printed while it was down showed it down; the one after its restart shows it up again.
    const since = out.slice(before);
    expect(since).toMatch(/\npayment +down, restart in \d+ s/);
    const after = since.slice(since.indexOf("payment restarted (restart 1"));
    await waitFor(
      () => out.slice(before).slice(since.indexOf("payment restarted")).includes("Ctrl-C stops everything"),
      {
        what: "the table after the restart",
      },
    );
    const newPid = pidOf(out.slice(before + since.indexOf("payment restarted")), "payment");
    expect(newPid).toBeGreaterThan(0);
    expect(newPid).not.toBe(killedPid);
    expect(after).toContain(`pid ${newPid}`);
    for (const s of SERVICES.filter((s) => s !== "payment")) expect(err).not.toContain(`dev: ${s} `);
  } finally {
    dev.kill("SIGINT");
    const killer = setTimeout(() => dev.kill("SIGKILL"), 20_000);
    expect(await dev.exited).toBe(0);
    clearTimeout(killer);
    rmSync(dataDir, { recursive: true, force: true });
    await db.drop();
  }
  for (const s of SERVICES) expect(out).toContain(`${s} stopped`);
  expect(out).toContain("all stopped");
  const stillUp = await connect({ servers: natsUrl, timeout: 500, reconnect: false }).then(
    (nc) => nc.close().then(() => true),
    (e) => /authorization/i.test(String(e)),
  );
  expect(stillUp).toBe(false);
});

test("dev says in one line how to get NATS when none answers and nats-server is not on PATH", async () => {
  const natsUrl = `nats://127.0.0.1:${freePort()}`;
  const dev = Bun.spawn([process.execPath, join(import.meta.dir, "../../cli/dev.ts")], {
    env: { ...process.env, NATS_URL: natsUrl, PATH: dirname(process.execPath) },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stderr, code] = await Promise.all([new Response(dev.stderr).text(), dev.exited]);
  expect(code).toBe(1);
  expect(stderr.trim()).toBe(
    `dev: no NATS at ${natsUrl} and no nats-server on PATH: install it (apt install nats-server; it may land in /usr/sbin) or point NATS_URL at one`,
  );
});
