// The inventory service on real Postgres, as real processes: products, availability, all-or-nothing
// reservations, release, commit, expiry, and no oversell when two replicas race for the last units.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  InventoryService,
  ReservationStatus,
} from "../../services/contracts/gen/shop/inventory/v1/inventory_service_pb";
import { startServiceProcess, waitFor, type ServiceProcess, testSchemas, runToExit } from "../../services/kit/testing";

type Inventory = Client<typeof InventoryService>;

const schemas = testSchemas();
const SCHEMA = schemas.schema("inventory");
/** A replica whose sweeper practically never runs, to see what happens to overdue reservations it has not reached. */
const LAZY_SCHEMA = schemas.schema("inventory_lazy");
const SWEEP_MS = "50";

let a: ServiceProcess;
let b: ServiceProcess;
let lazy: ServiceProcess;
/** Replica A over gRPC (HTTP/2), replica B over Connect (HTTP/1.1): same schema, same truth. */
let viaA: Inventory;
let viaB: Inventory;
let viaLazy: Inventory;

beforeAll(async () => {
  const started = await Promise.allSettled([
    startServiceProcess("inventory", { env: { ...schemas.env("inventory"), RESERVATION_SWEEP_MS: SWEEP_MS } }),
    startServiceProcess("inventory", { env: { ...schemas.env("inventory"), RESERVATION_SWEEP_MS: SWEEP_MS } }),
    startServiceProcess("inventory", { env: { ...schemas.env("inventory_lazy"), RESERVATION_SWEEP_MS: "3600000" } }),
  ]);
  const failed = started.find((s) => s.status === "rejected");
  if (failed) {
    // Leave no process behind when one of them did not start.
    await Promise.all(started.flatMap((s) => (s.status === "fulfilled" ? [s.value.stop()] : [])));
    throw failed.reason;
  }
  [a, b, lazy] = started.map((s) => (s as PromiseFulfilledResult<ServiceProcess>).value);
  viaA = createClient(InventoryService, createGrpcTransport({ baseUrl: a.grpc! }));
  viaB = createClient(InventoryService, createConnectTransport({ baseUrl: b.http, httpVersion: "1.1" }));
  viaLazy = createClient(InventoryService, createConnectTransport({ baseUrl: lazy.http, httpVersion: "1.1" }));
});

afterAll(async () => {
  const running = [a, b, lazy].filter(Boolean);
  const codes = await Promise.all(running.map((s) => s.stop()));
  await schemas.drop();
  // The sweepers stop with the service: a clean exit, and nothing logged after "stopped".
  expect(running).toHaveLength(3);
  expect(codes).toEqual([0, 0, 0]);
  for (const s of running) expect(s.logs.at(-1)?.msg).toBe("inventory stopped");
});

// ---- helpers ---------------------------------------------------------------------------------------

const id = (prefix: string) => `${prefix}-${crypto.randomUUID().slice(0, 8)}`;
/** Request items from [product id, quantity] pairs. */
const itemsOf = (...wanted: [productId: string, quantity: number][]) =>
  wanted.map(([productId, quantity]) => ({ productId, quantity }));
/** The reservation ReserveItems answers for these items (held for `ttlSeconds`, or the default). */
const reservationOf = async (client: Inventory, orderId: string, wanted: [string, number][], ttlSeconds?: number) =>
  (await client.reserveItems({ orderId, items: itemsOf(...wanted), ttlSeconds })).reservation!;

async function newProduct(client: Inventory, stock: number, priceMinor = 1200n) {
  const productId = id("sku");
  await client.upsertProduct({
    product: {
      id: productId,
      name: `Product ${productId}`,
      price: { amountMinor: priceMinor, currency: "EUR" },
      stock,
    },
  });
  return productId;
}

/** The Connect error a call ended with (fails the test when the call succeeded). */
async function refusal(call: Promise<unknown>): Promise<ConnectError> {
  const outcome = await call.then(
    () => undefined,
    (e) => ConnectError.from(e),
  );
  if (!outcome) throw new Error("expected the call to be refused, it succeeded");
  return outcome;
}

async function productRow(productId: string, schema = SCHEMA) {
  const [row] = await schemas.sql.unsafe<{ stock: number; reserved: number }[]>(
    `select stock, reserved from "${schema}".products where id = $1`,
    [productId],
  );
  return row;
}

async function reservationRows(orderId: string, schema = SCHEMA) {
  const rows = await schemas.sql.unsafe<{ id: string; status: string; items: number }[]>(
    `select r.id::text, r.status, (select count(*) from "${schema}".reservation_items ri where ri.reservation_id = r.id)::int as items
     from "${schema}".reservations r where r.order_id = $1 order by r.created_at`,
    [orderId],
  );
  return [...rows];
}

async function tableCounts(schema = SCHEMA) {
  const [row] = await schemas.sql.unsafe<
    { products: number; reservations: number; items: number; reserved: number; stock: number }[]
  >(`
    select (select count(*) from "${schema}".products)::int as products,
           (select count(*) from "${schema}".reservations)::int as reservations,
           (select count(*) from "${schema}".reservation_items)::int as items,
           (select coalesce(sum(reserved), 0) from "${schema}".products)::int as reserved,
           (select coalesce(sum(stock), 0) from "${schema}".products)::int as stock`);
  return row;
}

/** Products whose `reserved` differs from what their ACTIVE reservations hold: must always be none. */
async function reservedMismatches(schema = SCHEMA) {
  return schemas.sql.unsafe(
    `select * from "${schema}".reserved_per_product where reserved <> held_by_active_reservations or reserved > stock`,
  );
}

// ---- products --------------------------------------------------------------------------------------

describe("products", () => {
  test("upsert, get and list; a replica sees what the other wrote", async () => {
    const productId = await newProduct(viaA, 7, 999n);
    await newProduct(viaB, 1);
    const { product } = await viaB.getProduct({ productId });
    expect(product).toMatchObject({
      id: productId,
      stock: 7,
      reserved: 0,
      price: { amountMinor: 999n, currency: "EUR" },
    });
    await viaB.upsertProduct({
      product: { id: productId, name: "  Renamed  ", price: { amountMinor: 1000n, currency: "USD" }, stock: 9 },
    });
    expect((await viaA.getProduct({ productId })).product).toMatchObject({
      name: "Renamed",
      stock: 9,
      price: { amountMinor: 1000n, currency: "USD" },
    });

    const firstPage = await viaA.listProducts({ pageSize: 1 });
    expect(firstPage.products).toHaveLength(1);
    expect(firstPage.nextPageToken).toBe(firstPage.products[0].id);
    const next = await viaA.listProducts({ pageSize: 1, pageToken: firstPage.nextPageToken });
    expect(next.products[0].id > firstPage.products[0].id).toBe(true);
  });

  test("bad products are refused naming the field, and nothing is written", async () => {
    const before = await tableCounts();
    const good = { id: id("sku"), name: "Mug", price: { amountMinor: 100n, currency: "EUR" }, stock: 1 };
    const cases: [object | undefined, string][] = [
      [undefined, "product is required"],
      [{ ...good, id: "" }, "product.id is required"],
      [{ ...good, id: "Not OK" }, "product.id must match"],
      [{ ...good, name: " " }, "product.name is required"],
      [{ ...good, price: undefined }, "product.price is required"],
      [{ ...good, price: { amountMinor: 100n, currency: "XXX" } }, "product.price.currency"],
      [{ ...good, price: { amountMinor: -1n, currency: "EUR" } }, "product.price.amount_minor"],
      [{ ...good, stock: -1 }, "product.stock must not be negative"],
    ];
    for (const [product, message] of cases) {
      const e = await refusal(viaA.upsertProduct({ product: product as any }));
      expect(e.code).toBe(Code.InvalidArgument);
      expect(e.rawMessage).toContain(message);
    }
    expect(await tableCounts()).toEqual(before);
  });

  test("get of an unknown product is NotFound, a malformed id InvalidArgument", async () => {
    expect((await refusal(viaA.getProduct({ productId: "sku-none" }))).code).toBe(Code.NotFound);
    const bad = await refusal(viaA.getProduct({ productId: "../x" }));
    expect(bad.code).toBe(Code.InvalidArgument);
    expect(bad.rawMessage).toContain("product_id");
    expect((await refusal(viaA.listProducts({ pageSize: -1 }))).rawMessage).toContain("page_size");
  });

  test("stock cannot be set below what is reserved", async () => {
    const productId = await newProduct(viaA, 5);
    await viaA.reserveItems({ orderId: id("o"), items: [{ productId, quantity: 4 }] });
    const e = await refusal(
      viaB.upsertProduct({
        product: { id: productId, name: "Lower", price: { amountMinor: 1n, currency: "EUR" }, stock: 3 },
      }),
    );
    expect(e.code).toBe(Code.FailedPrecondition);
    expect(e.rawMessage).toContain(productId);
    expect(await productRow(productId)).toEqual({ stock: 5, reserved: 4 });
    expect((await viaA.getProduct({ productId })).product?.name).toBe(`Product ${productId}`);
    // Exactly what is reserved is fine.
    await viaB.upsertProduct({
      product: { id: productId, name: "Lower", price: { amountMinor: 1n, currency: "EUR" }, stock: 4 },
    });
    expect(await productRow(productId)).toEqual({ stock: 4, reserved: 4 });
  });
});

// ---- availability ----------------------------------------------------------------------------------

describe("CheckAvailability", () => {
  test("answers per item with the unit price, and all_available", async () => {
    const mug = await newProduct(viaA, 5, 1200n);
    const pen = await newProduct(viaA, 2, 150n);
    await viaA.reserveItems({ orderId: id("o"), items: [{ productId: mug, quantity: 2 }] });
    const answer = await viaB.checkAvailability({
      items: itemsOf([mug, 3], [pen, 3]),
    });
    expect(answer.items.map((i) => ({ ...i }))).toMatchObject([
      {
        productId: mug,
        requested: 3,
        available: 3,
        sufficient: true,
        unitPrice: { amountMinor: 1200n, currency: "EUR" },
      },
      {
        productId: pen,
        requested: 3,
        available: 2,
        sufficient: false,
        unitPrice: { amountMinor: 150n, currency: "EUR" },
      },
    ]);
    expect(answer.allAvailable).toBe(false);
    expect((await viaB.checkAvailability({ items: [{ productId: mug, quantity: 3 }] })).allAvailable).toBe(true);
  });

  test("an unknown product is NotFound naming it; bad items are InvalidArgument", async () => {
    const mug = await newProduct(viaA, 5);
    const e = await refusal(
      viaA.checkAvailability({
        items: itemsOf([mug, 1], ["sku-ghost", 1]),
      }),
    );
    expect(e.code).toBe(Code.NotFound);
    expect(e.rawMessage).toContain("sku-ghost");
    const bad = await refusal(viaA.checkAvailability({ items: [{ productId: mug, quantity: 0 }] }));
    expect(bad.code).toBe(Code.InvalidArgument);
    expect(bad.rawMessage).toContain("items[0].quantity");
    expect((await refusal(viaA.checkAvailability({ items: [] }))).rawMessage).toContain("items");
  });
});

// ---- reservations ----------------------------------------------------------------------------------

describe("ReserveItems", () => {
  test("reserves every item in one reservation, for the requested time", async () => {
    const mug = await newProduct(viaA, 5);
    const pen = await newProduct(viaA, 3);
    const orderId = id("o");
    const started = Date.now();
    const { reservation } = await viaA.reserveItems({
      orderId,
      items: itemsOf([mug, 2], [pen, 3]),
      ttlSeconds: 120,
    });
    expect(reservation).toMatchObject({ orderId, status: ReservationStatus.ACTIVE });
    expect(reservation!.items.map((i) => [i.productId, i.quantity]).sort()).toEqual(
      [
        [mug, 2],
        [pen, 3],
      ].sort(),
    );
    const ttl = (timestampDate(reservation!.expiresAt!).getTime() - started) / 1000;
    expect(ttl).toBeGreaterThan(110);
    expect(ttl).toBeLessThan(130);
    expect(await productRow(mug)).toEqual({ stock: 5, reserved: 2 });
    expect(await productRow(pen)).toEqual({ stock: 3, reserved: 3 });
    expect(await reservationRows(orderId)).toEqual([{ id: reservation!.id, status: "active", items: 2 }]);
    expect((await viaB.checkAvailability({ items: [{ productId: pen, quantity: 1 }] })).items[0].available).toBe(0);
  });

  test("ttl_seconds 0 holds for the default, 900 s", async () => {
    const mug = await newProduct(viaA, 5);
    const started = Date.now();
    const reservation = await reservationOf(viaB, id("o"), [[mug, 1]]);
    const ttl = (timestampDate(reservation.expiresAt!).getTime() - started) / 1000;
    expect(ttl).toBeGreaterThan(890);
    expect(ttl).toBeLessThan(910);
  });

  test("all or nothing: one short item and nothing is reserved, the short product named", async () => {
    const plenty = await newProduct(viaA, 100);
    const scarce = await newProduct(viaA, 1);
    const orderId = id("o");
    const e = await refusal(
      viaA.reserveItems({
        orderId,
        items: itemsOf([plenty, 5], [scarce, 2]),
      }),
    );
    expect(e.code).toBe(Code.FailedPrecondition);
    expect(e.rawMessage).toContain(scarce);
    expect(e.rawMessage).not.toContain(plenty);
    expect(await productRow(plenty)).toEqual({ stock: 100, reserved: 0 });
    expect(await productRow(scarce)).toEqual({ stock: 1, reserved: 0 });
    expect(await reservationRows(orderId)).toEqual([]);
  });

  test("an unknown product is NotFound naming it, and nothing is reserved", async () => {
    const mug = await newProduct(viaA, 5);
    const orderId = id("o");
    const e = await refusal(
      viaB.reserveItems({
        orderId,
        items: itemsOf([mug, 1], ["sku-ghost", 1]),
      }),
    );
    expect(e.code).toBe(Code.NotFound);
    expect(e.rawMessage).toContain("sku-ghost");
    expect(await productRow(mug)).toEqual({ stock: 5, reserved: 0 });
    expect(await reservationRows(orderId)).toEqual([]);
  });

  test("bad input is InvalidArgument naming the field, and nothing is written", async () => {
    const mug = await newProduct(viaA, 5);
    const pen = await newProduct(viaA, 5);
    const before = await tableCounts();
    const orderId = id("o");
    const one = [{ productId: mug, quantity: 1 }];
    const cases: [object, string][] = [
      [{ orderId: "", items: one }, "order_id is required"],
      [{ orderId: "has space", items: one }, "order_id must match"],
      [{ orderId, items: [] }, "items must not be empty"],
      [{ orderId, items: [{ productId: "", quantity: 1 }] }, "items[0].product_id is required"],
      [
        {
          orderId,
          items: itemsOf([mug, 1], ["Bad_Id", 1]),
        },
        "items[1].product_id must match",
      ],
      [{ orderId, items: [{ productId: mug, quantity: 0 }] }, "items[0].quantity must be positive"],
      [{ orderId, items: [{ productId: mug, quantity: -3 }] }, "items[0].quantity must be positive"],
      [{ orderId, items: [{ productId: mug, quantity: 1001 }] }, "items[0].quantity must be at most 1000"],
      [
        {
          orderId,
          items: [
            { productId: mug, quantity: 1 },
            { productId: pen, quantity: 1 },
            { productId: mug, quantity: 2 },
          ],
        },
        "items[2].product_id",
      ],
      [{ orderId, items: one, ttlSeconds: -1 }, "ttl_seconds must not be negative"],
      [{ orderId, items: one, ttlSeconds: 3601 }, "ttl_seconds must be at most 3600"],
    ];
    for (const [req, message] of cases) {
      const e = await refusal(viaA.reserveItems(req as any));
      expect(e.code).toBe(Code.InvalidArgument);
      expect(e.rawMessage).toContain(message);
    }
    expect(await tableCounts()).toEqual(before);
    expect(await reservationRows(orderId)).toEqual([]);
  });

  test("idempotent per order: a retry, on either replica, gets the same reservation and reserves once", async () => {
    const mug = await newProduct(viaA, 10);
    const orderId = id("o");
    const first = await viaA.reserveItems({ orderId, items: [{ productId: mug, quantity: 3 }] });
    const retry = await viaB.reserveItems({ orderId, items: [{ productId: mug, quantity: 3 }] });
    expect(retry.reservation?.id).toBe(first.reservation!.id);
    expect(retry.reservation?.status).toBe(ReservationStatus.ACTIVE);
    expect(await productRow(mug)).toEqual({ stock: 10, reserved: 3 });
    expect(await reservationRows(orderId)).toHaveLength(1);
  });

  test("idempotent under a race: 20 concurrent reservations of one order over two replicas make one", async () => {
    const mug = await newProduct(viaA, 100);
    const orderId = id("o");
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 ? viaA : viaB).reserveItems({ orderId, items: [{ productId: mug, quantity: 2 }] }),
      ),
    );
    expect(new Set(answers.map((x) => x.reservation!.id)).size).toBe(1);
    expect(await productRow(mug)).toEqual({ stock: 100, reserved: 2 });
    expect(await reservationRows(orderId)).toHaveLength(1);
  });

  test("after a release the order may reserve anew; after a commit a retry gets the committed one", async () => {
    const mug = await newProduct(viaA, 10);
    const orderId = id("o");
    const first = (await viaA.reserveItems({ orderId, items: [{ productId: mug, quantity: 2 }] })).reservation!;
    await viaA.releaseReservation({ reservationId: first.id, reason: "payment declined" });
    const second = (await viaB.reserveItems({ orderId, items: [{ productId: mug, quantity: 2 }] })).reservation!;
    expect(second.id).not.toBe(first.id);
    expect(second.status).toBe(ReservationStatus.ACTIVE);
    await viaB.commitReservation({ reservationId: second.id });
    const late = (await viaA.reserveItems({ orderId, items: [{ productId: mug, quantity: 2 }] })).reservation!;
    expect(late).toMatchObject({ id: second.id, status: ReservationStatus.COMMITTED });
    expect(await productRow(mug)).toEqual({ stock: 8, reserved: 0 });
    expect((await reservationRows(orderId)).map((r) => r.status)).toEqual(["released", "committed"]);
  });
});

describe("ReleaseReservation", () => {
  test("ACTIVE → RELEASED gives the units back; releasing again changes nothing", async () => {
    const mug = await newProduct(viaA, 4);
    const orderId = id("o");
    const reservation = await reservationOf(viaA, orderId, [[mug, 4]]);
    const released = (await viaB.releaseReservation({ reservationId: reservation.id, reason: "customer cancelled" }))
      .reservation!;
    expect(released).toMatchObject({ id: reservation.id, status: ReservationStatus.RELEASED });
    expect(released.items.map((i) => ({ productId: i.productId, quantity: i.quantity }))).toEqual([
      { productId: mug, quantity: 4 },
    ]);
    expect(await productRow(mug)).toEqual({ stock: 4, reserved: 0 });
    const [row] = await schemas.sql.unsafe(`select release_reason from "${SCHEMA}".reservations where id = $1`, [
      reservation.id,
    ]);
    expect(row.release_reason).toBe("customer cancelled");

    const again = (await viaA.releaseReservation({ reservationId: reservation.id })).reservation!;
    expect(again.status).toBe(ReservationStatus.RELEASED);
    expect(await productRow(mug)).toEqual({ stock: 4, reserved: 0 });
    // The units are free for someone else.
    await viaA.reserveItems({ orderId: id("o"), items: [{ productId: mug, quantity: 4 }] });
  });

  // Settled one way, a reservation refuses the other, naming itself; its units stay where the first put them.
  for (const [settled, settle, other, settleOtherwise, stockAfter] of [
    ["committed", "commitReservation", "released", "releaseReservation", 3],
    ["released", "releaseReservation", "committed", "commitReservation", 4],
  ] as const)
    test(`a ${settled} reservation cannot be ${other}`, async () => {
      const mug = await newProduct(viaA, 4);
      const reservation = await reservationOf(viaA, id("o"), [[mug, 1]]);
      await viaA[settle]({ reservationId: reservation.id });
      const e = await refusal(viaB[settleOtherwise]({ reservationId: reservation.id }));
      expect(e.code).toBe(Code.FailedPrecondition);
      expect(e.rawMessage).toContain(reservation.id);
      expect(await productRow(mug)).toEqual({ stock: stockAfter, reserved: 0 });
    });

  test("by order id: the order's active reservation, if any (a caller that lost ReserveItems' answer); none is no error", async () => {
    const mug = await newProduct(viaA, 5);
    const orderId = id("o");
    expect((await viaA.releaseReservation({ orderId, reason: "nothing reserved" })).reservation).toBeUndefined();
    const reservation = await reservationOf(viaA, orderId, [[mug, 3]]);
    expect(await productRow(mug)).toEqual({ stock: 5, reserved: 3 });
    const released = (await viaB.releaseReservation({ orderId, reason: "confirmation abandoned" })).reservation!;
    expect(released).toMatchObject({ id: reservation.id, orderId, status: ReservationStatus.RELEASED });
    expect(await productRow(mug)).toEqual({ stock: 5, reserved: 0 });
    // Again: nothing active any more.
    expect((await viaA.releaseReservation({ orderId })).reservation).toBeUndefined();
    // A committed one is not released by order.
    const other = id("o");
    const { reservation: sold } = await viaA.reserveItems({ orderId: other, items: [{ productId: mug, quantity: 1 }] });
    await viaA.commitReservation({ reservationId: sold!.id });
    expect((await viaA.releaseReservation({ orderId: other })).reservation).toBeUndefined();
    expect(await productRow(mug)).toEqual({ stock: 4, reserved: 0 });
    expect((await refusal(viaA.releaseReservation({ orderId: "bad id!" }))).rawMessage).toContain("order_id");
    expect((await refusal(viaA.releaseReservation({ orderId, reservationId: reservation.id }))).code).toBe(
      Code.InvalidArgument,
    );
  });

  test("unknown is NotFound; a missing or malformed id is InvalidArgument", async () => {
    expect((await refusal(viaA.releaseReservation({ reservationId: crypto.randomUUID() }))).code).toBe(Code.NotFound);
    for (const reservationId of ["", "not-a-uuid"]) {
      const e = await refusal(viaA.releaseReservation({ reservationId }));
      expect(e.code).toBe(Code.InvalidArgument);
      expect(e.rawMessage).toContain("reservation_id");
    }
    const long = await refusal(
      viaA.releaseReservation({ reservationId: crypto.randomUUID(), reason: "x".repeat(501) }),
    );
    expect(long.rawMessage).toContain("reason");
  });
});

describe("CommitReservation", () => {
  test("ACTIVE → COMMITTED takes the units off stock and reserved; committing again changes nothing", async () => {
    const mug = await newProduct(viaA, 10);
    const pen = await newProduct(viaA, 10);
    const { reservation } = await viaA.reserveItems({
      orderId: id("o"),
      items: itemsOf([mug, 3], [pen, 1]),
    });
    const committed = (await viaB.commitReservation({ reservationId: reservation!.id })).reservation!;
    expect(committed).toMatchObject({ id: reservation!.id, status: ReservationStatus.COMMITTED });
    expect(await productRow(mug)).toEqual({ stock: 7, reserved: 0 });
    expect(await productRow(pen)).toEqual({ stock: 9, reserved: 0 });
    const again = (await viaA.commitReservation({ reservationId: reservation!.id })).reservation!;
    expect(again.status).toBe(ReservationStatus.COMMITTED);
    expect(await productRow(mug)).toEqual({ stock: 7, reserved: 0 });
  });

  test("unknown is NotFound; a malformed id is InvalidArgument", async () => {
    expect((await refusal(viaA.commitReservation({ reservationId: crypto.randomUUID() }))).code).toBe(Code.NotFound);
    const e = await refusal(viaA.commitReservation({ reservationId: "r-1" }));
    expect(e.code).toBe(Code.InvalidArgument);
    expect(e.rawMessage).toContain("reservation_id");
  });
});

// ---- expiry ----------------------------------------------------------------------------------------

describe("expiry", () => {
  test("the sweeper expires a reservation past its time and gives the units back; then commit is refused, release is a no-op", async () => {
    const mug = await newProduct(viaA, 3);
    const orderId = id("o");
    const reservation = await reservationOf(viaA, orderId, [[mug, 3]], 1);
    expect(await productRow(mug)).toEqual({ stock: 3, reserved: 3 });
    await waitFor(async () => (await reservationRows(orderId))[0]?.status === "expired", {
      timeoutMs: 10_000,
      what: "the reservation to expire",
    });
    expect(await productRow(mug)).toEqual({ stock: 3, reserved: 0 });
    // The sweeper logs after its commit, and the line reaches us through the process's stdout: wait for it too.
    await waitFor(
      () => a.logs.concat(b.logs).some((l) => l.msg === "reservation expired" && l.reservation_id === reservation.id),
      { timeoutMs: 5_000, what: "the sweeper's log line" },
    );

    const e = await refusal(viaB.commitReservation({ reservationId: reservation.id }));
    expect(e.code).toBe(Code.FailedPrecondition);
    expect(e.rawMessage).toContain("expired");
    expect((await viaA.releaseReservation({ reservationId: reservation.id })).reservation?.status).toBe(
      ReservationStatus.EXPIRED,
    );
    // The order may reserve again.
    const again = (await viaA.reserveItems({ orderId, items: [{ productId: mug, quantity: 3 }] })).reservation!;
    expect(again.id).not.toBe(reservation.id);
    expect(await productRow(mug)).toEqual({ stock: 3, reserved: 3 });
  });

  test("committing an overdue reservation the sweeper has not reached expires it and is refused", async () => {
    const mug = await newProduct(viaLazy, 2);
    const reservation = await reservationOf(viaLazy, id("o"), [[mug, 2]], 1);
    await waitForOverdue(reservation.id);
    const e = await refusal(viaLazy.commitReservation({ reservationId: reservation.id }));
    expect(e.code).toBe(Code.FailedPrecondition);
    expect(e.rawMessage).toContain("expired");
    expect(await productRow(mug, LAZY_SCHEMA)).toEqual({ stock: 2, reserved: 0 });
    const [row] = await schemas.sql.unsafe(`select status from "${LAZY_SCHEMA}".reservations where id = $1`, [
      reservation.id,
    ]);
    expect(row.status).toBe("expired");
  });

  test("reserving again for an order whose reservation is overdue (not yet swept) makes a new one", async () => {
    const mug = await newProduct(viaLazy, 2);
    const orderId = id("o");
    const reservation = await reservationOf(viaLazy, orderId, [[mug, 2]], 1);
    await waitForOverdue(reservation.id);
    const fresh = (await viaLazy.reserveItems({ orderId, items: [{ productId: mug, quantity: 2 }] })).reservation!;
    expect(fresh.id).not.toBe(reservation.id);
    expect(fresh.status).toBe(ReservationStatus.ACTIVE);
    expect((await reservationRows(orderId, LAZY_SCHEMA)).map((r) => r.status)).toEqual(["expired", "active"]);
    expect(await productRow(mug, LAZY_SCHEMA)).toEqual({ stock: 2, reserved: 2 });
    expect(await reservedMismatches(LAZY_SCHEMA)).toHaveLength(0);
  });
});

/** Until the database's clock is past the reservation's expiry (the clock the service decides by). */
const waitForOverdue = (reservationId: string) =>
  waitFor(
    async () =>
      (
        await schemas.sql.unsafe(`select 1 from "${LAZY_SCHEMA}".reservations where id = $1 and expires_at <= now()`, [
          reservationId,
        ])
      ).length === 1,
    { timeoutMs: 5000, what: "the reservation to be overdue" },
  );

// ---- concurrency -----------------------------------------------------------------------------------

describe("no oversell under contention, across two replicas", () => {
  test("200 concurrent reservations of 1 unit against a stock of 10: exactly 10 succeed, 190 cleanly refused", async () => {
    const mug = await newProduct(viaA, 10);
    const calls = Array.from({ length: 200 }, (_, i) =>
      (i % 2 ? viaA : viaB).reserveItems({
        orderId: id("race"),
        items: [{ productId: mug, quantity: 1 }],
        ttlSeconds: 600,
      }),
    );
    const settled = await Promise.allSettled(calls);
    const ok = settled.filter((s) => s.status === "fulfilled");
    const codes = settled.flatMap((s) => (s.status === "rejected" ? [ConnectError.from(s.reason)] : []));
    expect(
      codes.filter((e) => e.code !== Code.FailedPrecondition).map((e) => `${Code[e.code]}: ${e.rawMessage}`),
    ).toEqual([]);
    expect(ok).toHaveLength(10);
    expect(codes).toHaveLength(190);
    expect(codes.every((e) => e.rawMessage.includes(mug))).toBe(true);
    expect(await productRow(mug)).toEqual({ stock: 10, reserved: 10 });
    const [active] = await schemas.sql.unsafe<{ n: number; units: number }[]>(
      `select count(distinct r.id)::int as n, coalesce(sum(ri.quantity), 0)::int as units from "${SCHEMA}".reservations r join "${SCHEMA}".reservation_items ri on ri.reservation_id = r.id where ri.product_id = $1 and r.status = 'active'`,
      [mug],
    );
    expect(active).toEqual({ n: 10, units: 10 });
    expect(await reservedMismatches()).toHaveLength(0);
  });

  test("multi-item reservations naming products in opposite orders neither deadlock nor oversell", async () => {
    const x = await newProduct(viaA, 30);
    const y = await newProduct(viaA, 30);
    const calls = Array.from({ length: 60 }, (_, i) =>
      (i % 2 ? viaA : viaB).reserveItems({
        orderId: id("cross"),
        items:
          i % 4 < 2
            ? [
                { productId: x, quantity: 1 },
                { productId: y, quantity: 1 },
              ]
            : [
                { productId: y, quantity: 1 },
                { productId: x, quantity: 1 },
              ],
      }),
    );
    const settled = await Promise.allSettled(calls);
    const refused = settled.flatMap((s) => (s.status === "rejected" ? [ConnectError.from(s.reason)] : []));
    expect(
      refused.filter((e) => e.code !== Code.FailedPrecondition).map((e) => `${Code[e.code]}: ${e.rawMessage}`),
    ).toEqual([]);
    expect(settled.filter((s) => s.status === "fulfilled")).toHaveLength(30);
    expect(await productRow(x)).toEqual({ stock: 30, reserved: 30 });
    expect(await productRow(y)).toEqual({ stock: 30, reserved: 30 });
  });

  test("releases, commits and the sweepers racing over the same reservations keep reserved equal to what active reservations hold", async () => {
    const mug = await newProduct(viaA, 40);
    const made = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        (i % 2 ? viaA : viaB).reserveItems({
          orderId: id("mix"),
          items: [{ productId: mug, quantity: 1 }],
          ttlSeconds: i % 3 === 0 ? 1 : 600,
        }),
      ),
    );
    // Each reservation gets a release and a commit at once, from different replicas: one wins, the other is refused or a no-op.
    const settled = await Promise.allSettled(
      made.flatMap(({ reservation }, i) => [
        (i % 2 ? viaA : viaB).releaseReservation({ reservationId: reservation!.id }),
        (i % 2 ? viaB : viaA).commitReservation({ reservationId: reservation!.id }),
      ]),
    );
    const unexpected = settled
      .flatMap((s) => (s.status === "rejected" ? [ConnectError.from(s.reason)] : []))
      .filter((e) => e.code !== Code.FailedPrecondition);
    expect(unexpected.map((e) => `${Code[e.code]}: ${e.rawMessage}`)).toEqual([]);
    const [{ committed }] = await schemas.sql.unsafe(
      `select count(*)::int as committed from "${SCHEMA}".reservations r join "${SCHEMA}".reservation_items ri on ri.reservation_id = r.id where ri.product_id = $1 and r.status = 'committed'`,
      [mug],
    );
    expect(await productRow(mug)).toEqual({ stock: 40 - committed, reserved: 0 });
    expect(await reservedMismatches()).toHaveLength(0);
  });
});

// ---- configuration and the embedded database ---------------------------------------------------------

// A fresh PGlite runs initdb in WASM: seconds when idle, tens of seconds on a busy 2-core machine.
const PGLITE_START_MS = 80_000;

test(
  "without DATABASE_URL it runs on embedded PGlite under DATA_DIR",
  async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "inventory-pglite-"));
    let solo: ServiceProcess | undefined;
    try {
      solo = await startServiceProcess("inventory", {
        env: { DATABASE_URL: "", DATABASE_SCHEMA: "", DATA_DIR: dataDir, RESERVATION_SWEEP_MS: SWEEP_MS },
        timeoutMs: PGLITE_START_MS,
      });
      expect(solo.logs.find((l) => l.msg === "database ready")).toMatchObject({ driver: "pglite" });
      const client = createClient(InventoryService, createConnectTransport({ baseUrl: solo.http, httpVersion: "1.1" }));
      const productId = await newProduct(client, 3);
      expect((await client.getProduct({ productId })).product).toMatchObject({ id: productId, stock: 3 });
      const { reservation } = await client.reserveItems({ orderId: id("o"), items: [{ productId, quantity: 2 }] });
      await client.commitReservation({ reservationId: reservation!.id });
      expect((await client.getProduct({ productId })).product).toMatchObject({ stock: 1, reserved: 0 });
      expect(existsSync(join(dataDir, "inventory", "pglite"))).toBe(true);
    } finally {
      if (solo) expect(await solo.stop()).toBe(0);
      rmSync(dataDir, { recursive: true, force: true });
    }
  },
  PGLITE_START_MS + 30_000,
);

test("a bad RESERVATION_* setting stops the service at start, naming the variable", async () => {
  const { stderr, code } = await runToExit(["bun", "services/inventory/main.ts"], {
    env: {
      ...schemas.env("inventory"),
      INVENTORY_HTTP_PORT: "0",
      INVENTORY_GRPC_PORT: "0",
      RESERVATION_SWEEP_MS: "often",
      RESERVATION_TTL_SECONDS: "7200",
    },
    timeoutMs: 20_000,
  });
  expect(code).toBe(1);
  expect(stderr).toContain('RESERVATION_SWEEP_MS="often"');
  expect(stderr).toContain('RESERVATION_TTL_SECONDS="7200"');
});
