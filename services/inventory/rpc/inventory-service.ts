import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import {
  InventoryService,
  ProductSchema,
  ReservationSchema,
  ReservationStatus,
} from "../../contracts/gen/shop/inventory/v1/inventory_service_pb";
import { InventoryError } from "../domain/inventory-error";
import type { InventoryStore } from "../domain/inventory-store";
import { available, type ProductRecord } from "../domain/products";
import { repeatedProductProblem, resolveTtlSeconds, type ReservationRecord } from "../domain/reservations";

const MAX_PAGE = 100;

function invalid(problem: string | undefined): void {
  if (problem) throw new ConnectError(problem, Code.InvalidArgument);
}

const CODES = {
  not_found: Code.NotFound,
  insufficient_stock: Code.FailedPrecondition,
  illegal_state: Code.FailedPrecondition,
  conflict: Code.Aborted,
} as const;

/** Domain refusals become their Connect codes; anything else stays a fault (Internal). */
async function answer<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (e) {
    if (e instanceof InventoryError) throw new ConnectError(e.message, CODES[e.kind]);
    throw e;
  }
}

/**
 * InventoryService: thin handlers that ask the store and map refusals to codes. Requests arrive checked
 * against their rules in inventory_service.proto (the kit's validate interceptor).
 */
export function inventoryRoutes(store: InventoryStore, { defaultTtlSeconds }: { defaultTtlSeconds: number }) {
  return (router: ConnectRouter) =>
    router.service(InventoryService, {
      async checkAvailability(req) {
        invalid(repeatedProductProblem(req.items));
        const found = await store.getProducts(req.items.map((it) => it.productId));
        const unknown = req.items.find((it) => !found.has(it.productId));
        if (unknown) throw new ConnectError(`product ${unknown.productId} not found`, Code.NotFound);
        const items = req.items.map((it) => {
          const p = found.get(it.productId)!;
          return {
            productId: it.productId,
            requested: it.quantity,
            available: available(p),
            sufficient: available(p) >= it.quantity,
            unitPrice: { amountMinor: p.priceMinor, currency: p.currency },
          };
        });
        return { items, allAvailable: items.every((it) => it.sufficient) };
      },

      async reserveItems(req) {
        invalid(repeatedProductProblem(req.items));
        const items = req.items.map((it) => ({ productId: it.productId, quantity: it.quantity }));
        const { reservation } = await answer(
          store.reserve({
            orderId: req.orderId,
            items,
            ttlSeconds: resolveTtlSeconds(req.ttlSeconds, defaultTtlSeconds),
          }),
        );
        return { reservation: reservationToProto(reservation) };
      },

      async releaseReservation(req) {
        if (req.orderId) {
          // By order: whatever it holds, if anything (a caller that lost ReserveItems' answer).
          const id = await store.activeReservationOf(req.orderId);
          return id ? { reservation: reservationToProto(await answer(store.release(id, req.reason))) } : {};
        }
        return { reservation: reservationToProto(await answer(store.release(req.reservationId, req.reason))) };
      },

      async commitReservation(req) {
        return { reservation: reservationToProto(await answer(store.commit(req.reservationId))) };
      },

      async getProduct(req) {
        const p = (await store.getProducts([req.productId])).get(req.productId);
        if (!p) throw new ConnectError(`product ${req.productId} not found`, Code.NotFound);
        return { product: productToProto(p) };
      },

      async listProducts(req) {
        // The token is the last product id of the page before.
        const limit = Math.min(req.pageSize || 50, MAX_PAGE);
        const page = await store.listProducts(req.pageToken, limit + 1);
        return {
          products: page.slice(0, limit).map(productToProto),
          nextPageToken: page.length > limit ? page[limit - 1].id : "",
        };
      },

      async upsertProduct(req) {
        // Required by the request's rules, price too.
        const p = req.product!;
        const saved = await answer(
          store.upsertProduct({
            id: p.id,
            name: p.name.trim(),
            priceMinor: p.price!.amountMinor,
            currency: p.price!.currency,
            stock: p.stock,
          }),
        );
        return { product: productToProto(saved) };
      },
    });
}

const productToProto = (p: ProductRecord): MessageInitShape<typeof ProductSchema> => ({
  id: p.id,
  name: p.name,
  price: { amountMinor: p.priceMinor, currency: p.currency },
  stock: p.stock,
  reserved: p.reserved,
});

const STATUS = {
  active: ReservationStatus.ACTIVE,
  committed: ReservationStatus.COMMITTED,
  released: ReservationStatus.RELEASED,
  expired: ReservationStatus.EXPIRED,
} as const;

const reservationToProto = (r: ReservationRecord): MessageInitShape<typeof ReservationSchema> => ({
  id: r.id,
  orderId: r.orderId,
  items: r.items,
  status: STATUS[r.status],
  expiresAt: timestampFromDate(r.expiresAt),
});
