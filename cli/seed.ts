// `bun cli/seed.ts`: demo customers and products, loaded through the running services (found by name
// through NATS), so the data goes through the same validation as any client's. Idempotent: what is
// already there is reported as found and left alone.
import { platformNamespace, listInstances } from "../services/kit/nats";
import { Code, ConnectError, type Client } from "@connectrpc/connect";
import type { NatsConnection } from "@nats-io/transport-node";
import { ConfigError, readConfig, createLogger } from "../services/kit";
import { natsUrlSetting, operatorIdentity, runOperatorCommand, withOperatorNats } from "./operator-nats";
import { InventoryService } from "../services/contracts/gen/shop/inventory/v1/inventory_service_pb";
import { createServiceClients, type RestClient } from "../services/kit/rpc";
import { tokenSource, type Identity } from "../services/kit/trust";

export const DEMO_CUSTOMERS = [
  { email: "ada@example.com", name: "Ada Lovelace" },
  { email: "grace@example.com", name: "Grace Hopper" },
  { email: "alan@example.com", name: "Alan Turing" },
] as const;

/** Prices in EUR minor units (cents). */
export const DEMO_PRODUCTS = [
  { id: "sku-mug", name: "Mug", priceMinor: 1200n, stock: 120 },
  { id: "sku-tee", name: "T-shirt", priceMinor: 2500n, stock: 200 },
  { id: "sku-hoodie", name: "Hoodie", priceMinor: 5900n, stock: 50 },
  { id: "sku-cap", name: "Cap", priceMinor: 1800n, stock: 80 },
  { id: "sku-sticker", name: "Sticker pack", priceMinor: 300n, stock: 500 },
  { id: "sku-poster", name: "Poster", priceMinor: 1500n, stock: 150 },
] as const;

const CALL_TIMEOUT_MS = 5000;

/** Ends the seed with one line on stderr and exit code 1. */
class SeedFailure extends Error {}

type Outcome = "created" | "found";
export interface SeededCustomer {
  outcome: Outcome;
  id: string;
  email: string;
  name: string;
}
export interface SeededProduct {
  outcome: Outcome;
  id: string;
  name: string;
  priceMinor: bigint;
  currency: string;
  stock: number;
}

async function errorMessage(res: Response) {
  const body = (await res.json().catch(() => undefined)) as { error?: { message?: string } } | undefined;
  return body?.error?.message ?? res.statusText;
}

/** Finds the customer by e-mail, or registers it; a registration lost to a concurrent seed is a find. */
async function ensureCustomer(call: RestClient, c: (typeof DEMO_CUSTOMERS)[number]): Promise<SeededCustomer> {
  const lookup = () =>
    call(`/v1/customers?email=${encodeURIComponent(c.email)}`, { signal: AbortSignal.timeout(CALL_TIMEOUT_MS) });
  let res = await lookup();
  if (res.status === 200)
    return { outcome: "found", ...((await res.json()) as { id: string; email: string; name: string }) };
  if (res.status !== 404)
    throw new SeedFailure(`customer answered ${res.status} looking up ${c.email}: ${await errorMessage(res)}`);
  res = await call("/v1/customers", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(c),
    signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
  });
  if (res.status === 201)
    return { outcome: "created", ...((await res.json()) as { id: string; email: string; name: string }) };
  if (res.status === 409 && (res = await lookup()).status === 200)
    return { outcome: "found", ...((await res.json()) as { id: string; email: string; name: string }) };
  throw new SeedFailure(`customer answered ${res.status} registering ${c.email}: ${await errorMessage(res)}`);
}

/**
 * Creates the product when it is missing. An existing one is left as it is: UpsertProduct would reset
 * its stock, undoing what the shop sold since the last seed.
 */
async function ensureProduct(
  client: Client<typeof InventoryService>,
  p: (typeof DEMO_PRODUCTS)[number],
): Promise<SeededProduct> {
  const toSeeded = (
    outcome: Outcome,
    product: { id: string; name: string; price?: { amountMinor: bigint; currency: string }; stock: number } | undefined,
  ) => {
    if (!product?.price) throw new SeedFailure(`inventory answered without a product for ${p.id}`);
    return {
      outcome,
      id: product.id,
      name: product.name,
      priceMinor: product.price.amountMinor,
      currency: product.price.currency,
      stock: product.stock,
    };
  };
  try {
    return toSeeded("found", (await client.getProduct({ productId: p.id }, { timeoutMs: CALL_TIMEOUT_MS })).product);
  } catch (e) {
    if (ConnectError.from(e).code !== Code.NotFound) throw e;
  }
  const { product } = await client.upsertProduct(
    { product: { id: p.id, name: p.name, price: { amountMinor: p.priceMinor, currency: "EUR" }, stock: p.stock } },
    { timeoutMs: CALL_TIMEOUT_MS },
  );
  return toSeeded("created", product);
}

/** Loads the demo data through the customer and inventory services of `namespace`, calling as `caller` (the operator) when the platform checks callers. */
export async function seed(nc: NatsConnection, namespace: string, caller?: Identity) {
  const missing: string[] = [];
  for (const name of ["customer", "inventory"]) {
    if ((await listInstances(nc, { name, namespace })).length === 0) missing.push(name);
  }
  if (missing.length) {
    throw new SeedFailure(
      `${missing.join(" and ")} ${missing.length > 1 ? "are" : "is"} not running (no instance registered in namespace "${namespace}"); start the platform with \`bun run dev\``,
    );
  }
  const clients = createServiceClients(nc, {
    namespace,
    log: createLogger("seed", "silent"),
    token: caller && tokenSource(caller),
  });
  try {
    const customerApi = clients.rest("customer");
    const inventory = clients.connect(InventoryService);
    const customers: SeededCustomer[] = [];
    for (const c of DEMO_CUSTOMERS) customers.push(await ensureCustomer(customerApi, c));
    const products: SeededProduct[] = [];
    for (const p of DEMO_PRODUCTS) products.push(await ensureProduct(inventory, p));
    return { customers, products };
  } finally {
    await clients.stop();
  }
}

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`;
const price = (minor: bigint, currency: string) =>
  `${currency} ${minor / 100n}.${String(minor % 100n).padStart(2, "0")}`;

export function describeSeed({ customers, products }: Awaited<ReturnType<typeof seed>>): string {
  const lines = ["customers:"];
  for (const c of customers) lines.push(`  ${c.outcome.padEnd(8)} ${c.id}  ${c.email.padEnd(20)} ${c.name}`);
  lines.push("products:");
  for (const p of products)
    lines.push(
      `  ${p.outcome.padEnd(8)} ${p.id.padEnd(12)} ${p.name.padEnd(14)} ${price(p.priceMinor, p.currency).padStart(10)}  stock ${p.stock}`,
    );
  const created = (xs: { outcome: Outcome }[]) => xs.filter((x) => x.outcome === "created").length;
  const [cc, pc] = [created(customers), created(products)];
  const [cf, pf] = [customers.length - cc, products.length - pc];
  if (cc + pc === 0)
    lines.push(`seed: nothing new: all ${plural(cf, "customer")} and ${plural(pf, "product")} were already there`);
  else if (cf + pf === 0) lines.push(`seed: created ${plural(cc, "customer")} and ${plural(pc, "product")}`);
  else
    lines.push(
      `seed: created ${plural(cc, "customer")} and ${plural(pc, "product")}; ${plural(cf, "customer")} and ${plural(pf, "product")} were already there`,
    );
  return lines.join("\n");
}

async function main() {
  let cfg;
  try {
    cfg = readConfig({ NATS_URL: natsUrlSetting(), PLATFORM_NAMESPACE: platformNamespace });
  } catch (e) {
    if (e instanceof ConfigError) throw new SeedFailure(e.problems.join("; "));
    throw e;
  }
  const connection = {
    natsUrl: cfg.NATS_URL,
    name: "seed",
    fail: (m: string) => new SeedFailure(m),
    hint: "; is the platform running?",
  };
  await withOperatorNats(connection, async (nc) =>
    console.log(describeSeed(await seed(nc, cfg.PLATFORM_NAMESPACE, operatorIdentity()))),
  );
}

/** Why the seed failed, in one line. */
function seedFailure(e: unknown): string {
  const why =
    e instanceof SeedFailure
      ? e.message
      : e instanceof ConnectError
        ? `a service call failed (${Code[e.code]}): ${e.rawMessage}`
        : e instanceof Error
          ? e.message
          : String(e);
  return why.replaceAll("\n", " ");
}

if (import.meta.main) runOperatorCommand("seed", main, seedFailure);
