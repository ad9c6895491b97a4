// The request rules written in the protos (buf.validate), in the words the services answer with. These
// are the cases the services' hand-written checks were tested with before the rules moved into the
// protos; the e2e tests hold every transport to them.
import { create, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import { createValidator } from "@bufbuild/protovalidate";
import { describe, expect, test } from "bun:test";
import { PaymentRequestedSchema } from "../services/contracts/gen/shop/payment/v1/events_pb";
import {
  CheckAvailabilityRequestSchema,
  ListProductsRequestSchema,
  ReleaseReservationRequestSchema,
  ReserveItemsRequestSchema,
  UpsertProductRequestSchema,
} from "../services/contracts/gen/shop/inventory/v1/inventory_service_pb";
import {
  CancelOrderRequestSchema,
  ConfirmOrderRequestSchema,
  CreateOrderRequestSchema,
  ListOrdersRequestSchema,
} from "../services/contracts/gen/shop/order/v1/order_service_pb";
import {
  ProcessPaymentRequestSchema,
  RefundPaymentRequestSchema,
} from "../services/contracts/gen/shop/payment/v1/payment_service_pb";
import { ruleViolations, rulesProblem } from "../services/kit/validation";

const problem = <D extends DescMessage>(schema: D, init: MessageInitShape<D>) =>
  rulesProblem(schema, create(schema, init));
const uuid = "0b7e0f7c-54a4-4d43-9d1b-1f5f7a0d3a11";

describe("ReserveItemsRequest", () => {
  const ok = { orderId: "o-1", items: [{ productId: "sku-mug", quantity: 1 }], ttlSeconds: 0 };
  const cases: [string, Partial<typeof ok>, string][] = [
    ["missing order id", { orderId: "" }, "order_id is required"],
    ["malformed order id", { orderId: "o 1" }, "order_id must match ^[\\w-]{1,64}$"],
    ["order id over 64", { orderId: "x".repeat(65) }, "order_id must match"],
    ["negative ttl", { ttlSeconds: -1 }, "ttl_seconds must not be negative"],
    ["ttl over an hour", { ttlSeconds: 3601 }, "ttl_seconds must be at most 3600"],
    ["no items", { items: [] }, "items must not be empty"],
    ["missing product id", { items: [{ productId: "", quantity: 1 }] }, "items[0].product_id is required"],
    ["malformed product id", { items: [{ productId: "SKU Mug", quantity: 1 }] }, "items[0].product_id must match"],
    ["zero quantity", { items: [{ productId: "a", quantity: 0 }] }, "items[0].quantity must be positive"],
    [
      "negative quantity",
      {
        items: [
          { productId: "a", quantity: 1 },
          { productId: "b", quantity: -2 },
        ],
      },
      "items[1].quantity must be positive",
    ],
    ["too many units", { items: [{ productId: "a", quantity: 1001 }] }, "items[0].quantity must be at most 1000"],
  ];
  for (const [name, change, message] of cases)
    test(name, () => expect(problem(ReserveItemsRequestSchema, { ...ok, ...change })).toContain(message));

  test("accepts the edges: ttl 0 and 3600, quantity 1000, a 64-character order id", () => {
    expect(problem(ReserveItemsRequestSchema, ok)).toBeUndefined();
    const edges = { ttlSeconds: 3600, orderId: "x".repeat(64), items: [{ productId: "a", quantity: 1000 }] };
    expect(problem(ReserveItemsRequestSchema, edges)).toBeUndefined();
  });

  test("bounds the number of products", () => {
    const many = Array.from({ length: 101 }, (_, i) => ({ productId: `p-${i}`, quantity: 1 }));
    expect(problem(CheckAvailabilityRequestSchema, { items: many })).toBe("items must hold at most 100 items, got 101");
    expect(problem(CheckAvailabilityRequestSchema, { items: many.slice(1) })).toBeUndefined();
  });
});

test("ReleaseReservationRequest: a reservation id or an order id, not both; a reason without control characters", () => {
  expect(problem(ReleaseReservationRequestSchema, {})).toContain("one of reservation_id, order_id must be set");
  expect(problem(ReleaseReservationRequestSchema, { reservationId: uuid, orderId: "o-1" })).toContain(
    "only one of reservation_id, order_id can be set",
  );
  expect(problem(ReleaseReservationRequestSchema, { orderId: "o-1", reason: "line\nbreak\tok" })).toBeUndefined();
  expect(problem(ReleaseReservationRequestSchema, { reservationId: "r-1" })).toBe("reservation_id must be a UUID");
  expect(problem(ReleaseReservationRequestSchema, { orderId: "o-1", reason: "nul\u0000" })).toBe(
    "reason must not contain control characters",
  );
});

test("optional fields are checked only when given: the first page has no token", () => {
  expect(problem(ListProductsRequestSchema, {})).toBeUndefined();
  expect(problem(ListProductsRequestSchema, { pageToken: "sku\u0000" })).toContain("page_token must match");
  expect(problem(ReleaseReservationRequestSchema, { reservationId: uuid })).toBeUndefined();
});

test("UpsertProductRequest names the field that is wrong", () => {
  const mug = { id: "sku-mug", name: "Mug", price: { amountMinor: 1200n, currency: "EUR" }, stock: 10 };
  const upsert = (product?: Partial<typeof mug> | undefined) =>
    problem(UpsertProductRequestSchema, product ? { product: { ...mug, ...product } } : {});
  expect(upsert({})).toBeUndefined();
  expect(upsert(undefined)).toBe("product is required");
  expect(upsert({ id: "" })).toBe("product.id is required");
  expect(upsert({ id: "Mug!" })).toContain("product.id must match");
  expect(upsert({ name: "  " })).toBe("product.name is required");
  expect(upsert({ name: "Mug\u0000" })).toBe("product.name must not contain control characters");
  expect(upsert({ name: "M".repeat(201) })).toBe("product.name must be at most 200 characters");
  expect(problem(UpsertProductRequestSchema, { product: { ...mug, price: undefined } })).toBe(
    "product.price is required",
  );
  expect(upsert({ price: { amountMinor: 0n, currency: "EUR" } })).toBe("product.price.amount_minor must be positive");
  expect(upsert({ price: { amountMinor: 1_000_000_001n, currency: "EUR" } })).toBe(
    "product.price.amount_minor must be at most 1000000000",
  );
  expect(upsert({ stock: -1 })).toBe("product.stock must not be negative");
  expect(upsert({ stock: 0 })).toBeUndefined();
});

test("CreateOrderRequest names every bad field", () => {
  const ok = { customerId: uuid, currency: "EUR", items: [{ productId: "sku-mug", quantity: 2 }] };
  expect(problem(CreateOrderRequestSchema, ok)).toBeUndefined();
  expect(
    problem(CreateOrderRequestSchema, {
      customerId: "42",
      currency: "DOGE",
      items: [
        { productId: "sku-mug", quantity: 0 },
        { productId: "Robert'); DROP TABLE", quantity: 1 },
        { productId: "sku-pen", quantity: 5000 },
      ],
    })?.split("; "),
  ).toEqual([
    "customer_id must be a UUID",
    "items[0].quantity must be positive",
    "items[1].product_id must match ^[a-z0-9][a-z0-9-]{0,63}$",
    "items[2].quantity must be at most 1000",
    'currency must be one of EUR, USD, GBP, got "DOGE"',
  ]);
  expect(problem(CreateOrderRequestSchema, { currency: "EUR" })).toBe(
    "customer_id is required; items must not be empty",
  );
});

test("order ids, page sizes, card tokens and reasons of the other order calls", () => {
  expect(problem(ListOrdersRequestSchema, { customerId: uuid, pageSize: 101 })).toBe("page_size must be at most 100");
  expect(problem(ListOrdersRequestSchema, { customerId: uuid, pageSize: -1 })).toBe("page_size must not be negative");
  expect(problem(ConfirmOrderRequestSchema, { orderId: "42", cardToken: "tok_success" })).toBe(
    "order_id must be a UUID",
  );
  expect(problem(ConfirmOrderRequestSchema, { orderId: uuid, cardToken: "" })).toBe("card_token is required");
  expect(problem(ConfirmOrderRequestSchema, { orderId: uuid, cardToken: "t".repeat(201) })).toBe(
    "card_token must be at most 200 characters",
  );
  expect(problem(CancelOrderRequestSchema, { orderId: uuid, reason: "x".repeat(501) })).toBe(
    "reason must be at most 500 characters",
  );
  expect(problem(CancelOrderRequestSchema, { orderId: uuid, reason: "x".repeat(500) })).toBeUndefined();
});

describe("a charge, called (ProcessPaymentRequest) or commanded (PaymentRequested): the same rules", () => {
  const good = {
    orderId: uuid,
    amount: { amountMinor: 100n, currency: "EUR" },
    cardToken: "tok_success",
    idempotencyKey: "k-1",
  };
  for (const schema of [ProcessPaymentRequestSchema, PaymentRequestedSchema] as const)
    test(schema.typeName, () => {
      const charge = (change: object) => problem(schema as typeof ProcessPaymentRequestSchema, { ...good, ...change });
      expect(charge({})).toBeUndefined();
      expect(charge({ orderId: "" })).toBe("order_id is required");
      // Well-formed, but no order's id: a charge that belongs to no order.
      expect(charge({ orderId: "o-1" })).toBe("order_id must be a UUID");
      expect(charge({ cardToken: "tok\u0000" })).toBe("card_token must not contain control characters");
      expect(charge({ cardToken: "t".repeat(201) })).toBe("card_token must be at most 200 characters");
      expect(charge({ idempotencyKey: "" })).toBe("idempotency_key is required");
      expect(charge({ idempotencyKey: "has spaces" })).toContain("idempotency_key must match");
      expect(charge({ cardToken: "" })).toBe("card_token is required");
      expect(charge({ amount: undefined })).toBe("amount is required");
      expect(charge({ amount: { amountMinor: 0n, currency: "EUR" } })).toBe("amount.amount_minor must be positive");
      expect(charge({ amount: { amountMinor: 100n, currency: "XYZ" } })).toBe(
        'amount.currency must be one of EUR, USD, GBP, got "XYZ"',
      );
    });
});

test("RefundPaymentRequest", () => {
  expect(problem(RefundPaymentRequestSchema, { paymentId: "x".repeat(65) })).toContain("payment_id must match");
  expect(problem(RefundPaymentRequestSchema, { paymentId: "p-1", reason: "x".repeat(501) })).toContain("reason");
  expect(problem(RefundPaymentRequestSchema, { paymentId: "p-1", reason: "nul \u0000" })).toBe(
    "reason must not contain control characters",
  );
});

test("the kit's RegExp matching of the protos' patterns agrees with protovalidate's own RE2", () => {
  const re2 = createValidator();
  const samples = [
    "sku-mug",
    "SKU",
    "sku-mug\n",
    "\nsku",
    "ß",
    "😀",
    "a".repeat(64),
    "a".repeat(65),
    "x\u0085y",
    "tok\u2028",
    "a b",
    "o_1",
  ];
  const requests = samples.flatMap((s) => [
    create(ReserveItemsRequestSchema, { orderId: s, items: [{ productId: s, quantity: 1 }] }),
    create(ConfirmOrderRequestSchema, { orderId: uuid, cardToken: s }),
    create(CancelOrderRequestSchema, { orderId: uuid, reason: s }),
  ]);
  for (const r of requests) {
    const schema = [ReserveItemsRequestSchema, ConfirmOrderRequestSchema, CancelOrderRequestSchema].find(
      (s) => s.typeName === r.$typeName,
    )!;
    const theirs = re2.validate(schema, r as never);
    expect({ r, valid: ruleViolations(schema, r as never).length === 0 }).toEqual({
      r,
      valid: theirs.kind === "valid",
    });
  }
});
