// The README's walk-through (examples/walk-through.sh) on the platform as a newcomer starts it: `bun run
// dev` (here on Postgres schemas of its own and free ports), `bun run seed`, then the script, twice in a
// row on the same data: the second run gets a token for the customer the first signed up.
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Subprocess } from "bun";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, runToExit, testSchemas, waitFor } from "../../services/kit/testing";

const ROOT = join(import.meta.dir, "../..");
const SERVICES = ["gateway", "order", "payment", "inventory", "customer", "notification", "marketing"];
const dataDir = mkdtempSync(join(tmpdir(), "walk-through-"));
const db = testSchemas();
let natsUrl: string;
let dev: Subprocess<"ignore", "pipe", "pipe">;
let out = "";
let urls: { gateway: string; order: string };

beforeAll(async () => {
  natsUrl = `nats://127.0.0.1:${await freePort()}`;
  const ports = Object.fromEntries(
    SERVICES.flatMap((s) => [
      [`${s.toUpperCase()}_HTTP_PORT`, "0"],
      [`${s.toUpperCase()}_GRPC_PORT`, "0"],
    ]),
  );
  dev = Bun.spawn(["bun", join(ROOT, "cli/dev.ts")], {
    env: {
      ...process.env,
      ...ports,
      ...db.prefixEnv("order", "payment", "inventory", "customer", "notification", "marketing"),
      NATS_URL: natsUrl,
      DATA_DIR: dataDir,
      MAILBOX_DIR: join(dataDir, "mailbox"),
    },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  (async () => {
    for await (const chunk of dev.stdout) out += new TextDecoder().decode(chunk);
  })();
  await waitFor(() => out.includes("Ctrl-C stops everything"), { timeoutMs: 60_000, what: `dev's table:\n${out}` });
  const url = (s: string) => new RegExp(`\\n${s} +up +\\d+ +(http://127\\.0\\.0\\.1:\\d+)`).exec(out)![1]!;
  urls = { gateway: url("gateway"), order: url("order") };
  const seeded = await runToExit(["bun", "cli/seed.ts"], { env: { NATS_URL: natsUrl, DATA_DIR: dataDir } });
  expect(seeded.stderr).toBe("");
  expect(seeded.code).toBe(0);
}, 120_000);

afterAll(async () => {
  dev?.kill("SIGINT");
  const killer = setTimeout(() => dev.kill("SIGKILL"), 20_000);
  await dev?.exited;
  clearTimeout(killer);
  rmSync(dataDir, { recursive: true, force: true });
  await db.drop();
});

const walkThrough = () =>
  runToExit(["bash", "examples/walk-through.sh"], {
    env: { GATEWAY_URL: urls.gateway, ORDER_URL: urls.order, DATA_DIR: dataDir },
    timeoutMs: 60_000,
  });

const UUID = "[0-9a-f-]{36}";
const expected = (first: boolean) =>
  new RegExp(
    [
      first
        ? "signed up you@example\\.com"
        : "you@example\\.com signed up before: token from POST /v1/tokens \\(admin\\)",
      `customer (${UUID})`,
      `placed ${UUID}: ORDER_STATUS_PENDING, total 4900 EUR`,
      "confirmed with tok_success: ORDER_STATUS_CONFIRMED",
      "fetched: ORDER_STATUS_CONFIRMED",
      "declined with tok_declined: ORDER_STATUS_PAYMENT_FAILED; sku-mug stock (\\d+) before, (\\d+) after",
      `placed ${UUID}: PENDING, total 4900 EUR`,
      "confirmed with tok_success: CONFIRMED",
      `fetched: CONFIRMED, payment ${UUID}`,
      "",
    ].join("\\n"),
  );

test("examples/walk-through.sh runs twice in a row on the same data: sign-up, then a token for the same customer", async () => {
  const first = await walkThrough();
  expect(first.stderr).toBe("");
  expect(first.code).toBe(0);
  const one = expected(true).exec(first.stdout);
  expect(one, first.stdout).not.toBeNull();
  expect(one![2]).toBe(one![3]!); // the declined order gave its stock back

  const second = await walkThrough();
  expect(second.stderr).toBe("");
  expect(second.code).toBe(0);
  const two = expected(false).exec(second.stdout);
  expect(two, second.stdout).not.toBeNull();
  expect(two![1]).toBe(one![1]!); // the same customer
  expect(two![2]).toBe(two![3]!);
  // Between the two readings two confirmed orders of two mugs each: the first run's Connect order and the
  // second run's first order.
  expect(Number(two![2])).toBe(Number(one![2]) - 4);
});
