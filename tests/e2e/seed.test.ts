// `bun cli/seed.ts` against real customer and inventory processes (own schemas, own namespace): the
// first run creates the demo data, the second finds it and changes nothing, and a missing service
// ends the seed with one line and exit code 1.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { DEMO_CUSTOMERS, DEMO_PRODUCTS } from "../../cli/seed";
import { startServiceProcess, type ServiceProcess, testSchemas, runToExit } from "../../services/kit/testing";

const namespace = `seed${crypto.randomUUID().replaceAll("-", "").slice(0, 10)}`;
const schemas = testSchemas();
const running: ServiceProcess[] = [];

beforeAll(async () => {
  const env = (service: string) => ({ ...schemas.env(service), PLATFORM_NAMESPACE: namespace });
  running.push(
    ...(await Promise.all([
      startServiceProcess("customer", { env: env("customer") }),
      startServiceProcess("inventory", { env: env("inventory") }),
    ])),
  );
});
afterAll(async () => {
  const codes = await Promise.all(running.map((s) => s.stop()));
  await schemas.drop();
  expect(codes.every((c) => c === 0)).toBe(true);
});

const runSeed = (ns = namespace) =>
  runToExit(["bun", "cli/seed.ts"], { env: { PLATFORM_NAMESPACE: ns }, timeoutMs: 30_000 });

const customerRows = () =>
  schemas.sql.unsafe(`select id, email, name from "${schemas.schema("customer")}".customers order by email`);
const productRows = async () => [
  ...(await schemas.sql.unsafe<Record<string, unknown>[]>(
    `select id, name, price_minor::text as price_minor, currency, stock from "${schemas.schema("inventory")}".products order by id`,
  )),
];
const expectedProducts = (stockOf: (id: string) => number = (id) => DEMO_PRODUCTS.find((p) => p.id === id)!.stock) =>
  DEMO_PRODUCTS.map((p) => ({
    id: p.id,
    name: p.name,
    price_minor: String(p.priceMinor),
    currency: "EUR",
    stock: stockOf(p.id),
  })).sort((a, b) => a.id.localeCompare(b.id));

test("with the services not running in its namespace, the seed exits 1 with one line naming them", async () => {
  const { stdout, stderr, code } = await runSeed(`${namespace}x`);
  expect(code).toBe(1);
  expect(stdout).toBe("");
  expect(stderr.trim().split("\n")).toEqual([
    `seed: customer and inventory are not running (no instance registered in namespace "${namespace}x"); start the platform with \`bun run dev\``,
  ]);
});

let firstIds: Record<string, string>;

test("the first run creates 3 customers and 6 products through the services and prints their ids", async () => {
  const { stdout, stderr, code } = await runSeed();
  expect(stderr).toBe("");
  expect(code).toBe(0);
  expect(stdout.trim().split("\n").at(-1)).toBe("seed: created 3 customers and 6 products");

  const customers = await customerRows();
  expect(customers.map((r) => ({ email: r.email, name: r.name }))).toEqual(
    [...DEMO_CUSTOMERS].sort((a, b) => a.email.localeCompare(b.email)).map((c) => ({ email: c.email, name: c.name })),
  );
  for (const r of customers) expect(stdout).toMatch(new RegExp(`created +${r.id} +${r.email.replaceAll(".", "\\.")} `));
  firstIds = Object.fromEntries(customers.map((r) => [r.email as string, r.id as string] as const));

  expect(await productRows()).toEqual(expectedProducts());
  expect(stdout).toMatch(/created +sku-mug +Mug +EUR 12\.00 +stock 120\n/);
});

test("a second run creates nothing, says so, and leaves stock the shop changed since alone", async () => {
  // As if 113 mugs had been sold since the first seed: the seed must not put them back.
  await schemas.sql.unsafe(`update "${schemas.schema("inventory")}".products set stock = 7 where id = 'sku-mug'`);
  const { stdout, stderr, code } = await runSeed();
  expect(stderr).toBe("");
  expect(code).toBe(0);
  expect(stdout.trim().split("\n").at(-1)).toBe("seed: nothing new: all 3 customers and 6 products were already there");
  expect(stdout).not.toContain("created");
  expect(stdout).toMatch(/found +sku-mug +Mug +EUR 12\.00 +stock 7\n/);

  const customers = await customerRows();
  expect(Object.fromEntries(customers.map((r) => [r.email as string, r.id as string] as const))).toEqual(firstIds);
  for (const r of customers) expect(stdout).toContain(`found    ${r.id}`);
  expect(await productRows()).toEqual(
    expectedProducts((id) => (id === "sku-mug" ? 7 : DEMO_PRODUCTS.find((p) => p.id === id)!.stock)),
  );
});

test("once inventory has stopped, the seed names it as not running and exits 1", async () => {
  const inventory = running.find((s) => s.name === "inventory")!;
  expect(await inventory.stop()).toBe(0);
  const { stderr, code } = await runSeed();
  expect(code).toBe(1);
  expect(stderr.trim().split("\n")).toEqual([
    `seed: inventory is not running (no instance registered in namespace "${namespace}"); start the platform with \`bun run dev\``,
  ]);
});
