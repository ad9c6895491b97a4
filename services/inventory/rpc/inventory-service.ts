import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { InventoryService, ProductSchema } from "../../contracts/gen/shop/inventory/v1/inventory_service_pb";
import { moneyProblem } from "../../kit/money";
import { available, type ProductRecord, type ProductStore } from "../domain/products";

const PRODUCT_ID = /^[a-z0-9][a-z0-9-]{0,63}$/;
const MAX_PAGE = 100;

function invalid(message: string): never {
  throw new ConnectError(message, Code.InvalidArgument);
}

function requireProductId(field: string, id: string) {
  if (!id) invalid(`${field} is required`);
  if (!PRODUCT_ID.test(id)) invalid(`${field} must be lowercase letters, digits and '-', at most 64`);
}

const toProto = (p: ProductRecord): MessageInitShape<typeof ProductSchema> => ({
  id: p.id,
  name: p.name,
  price: { amountMinor: p.priceMinor, currency: p.currency },
  stock: p.stock,
  reserved: p.reserved,
});

/**
 * InventoryService. Reservations (ReserveItems, ReleaseReservation, CommitReservation) arrive with the
 * order flow; until then they answer Unimplemented.
 */
export function inventoryRoutes(store: ProductStore) {
  return (router: ConnectRouter) =>
    router.service(InventoryService, {
      async checkAvailability(req) {
        if (req.items.length === 0) invalid("items must not be empty");
        req.items.forEach((it, i) => {
          requireProductId(`items[${i}].product_id`, it.productId);
          if (it.quantity <= 0) invalid(`items[${i}].quantity must be positive`);
        });
        const found = await store.getMany(req.items.map((it) => it.productId));
        const missing = req.items.find((it) => !found.has(it.productId));
        if (missing) throw new ConnectError(`product ${missing.productId} not found`, Code.NotFound);
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
      async getProduct(req) {
        requireProductId("product_id", req.productId);
        const p = await store.get(req.productId);
        if (!p) throw new ConnectError(`product ${req.productId} not found`, Code.NotFound);
        return { product: toProto(p) };
      },
      async listProducts(req) {
        if (req.pageSize < 0) invalid("page_size must not be negative");
        const limit = Math.min(req.pageSize || 50, MAX_PAGE);
        const page = await store.list(req.pageToken, limit + 1);
        return {
          products: page.slice(0, limit).map(toProto),
          nextPageToken: page.length > limit ? page[limit - 1].id : "",
        };
      },
      async upsertProduct(req) {
        const p = req.product;
        if (!p) invalid("product is required");
        requireProductId("product.id", p.id);
        if (!p.name.trim()) invalid("product.name is required");
        const priceProblem = moneyProblem("product.price", p.price);
        if (priceProblem) invalid(priceProblem);
        if (p.stock < 0) invalid("product.stock must not be negative");
        const saved = await store.upsert({ id: p.id, name: p.name.trim(), priceMinor: p.price!.amountMinor, currency: p.price!.currency, stock: p.stock });
        return { product: toProto(saved) };
      },
    });
}
