// The validate interceptor in the router's chain: a request that breaks its protos' rules never reaches
// the handler, and the caller learns which fields and why. (The shop's PaymentService is the fixture.)
import { describe, expect, test } from "bun:test";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { ViolationsSchema, type Violations } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { PaymentService } from "../../contracts/gen/shop/payment/v1/payment_service_pb";
import { validateInterceptor } from "./validate-interceptor";

const ID = "0b9f7c1e-3d2a-4c5b-8e6f-7a8b9c0d1e2f";
let served = 0;
const transport = createRouterTransport(
  (router) =>
    router.service(PaymentService, {
      processPayment: async () => (served++, {}),
      refundPayment: async () => (served++, {}),
      getPaymentStatus: async () => (served++, {}),
    }),
  { router: { interceptors: [validateInterceptor()] } },
);
const client = createClient(PaymentService, transport);
const good = {
  orderId: ID,
  amount: { amountMinor: 100n, currency: "EUR" },
  cardToken: "tok_success",
  idempotencyKey: "k-1",
};

describe("validateInterceptor", () => {
  test("a request that keeps its rules reaches the handler", async () => {
    const before = served;
    await client.processPayment(good);
    expect(served).toBe(before + 1);
  });

  test("one that breaks them is InvalidArgument naming every field, with buf.validate.Violations in the details", async () => {
    const before = served;
    const err = await client
      .processPayment({ ...good, orderId: "o-1", amount: { amountMinor: 0n, currency: "EUR" }, cardToken: "" })
      .then(
        () => undefined,
        (e) => ConnectError.from(e),
      );
    expect(served).toBe(before);
    expect(err?.code).toBe(Code.InvalidArgument);
    expect(err?.rawMessage).toBe(
      "order_id must be a UUID; amount.amount_minor must be positive; card_token is required",
    );
    const [violations] = err!.findDetails(ViolationsSchema) as Violations[];
    expect(violations!.violations.map((v) => [v.field!.elements.map((e) => e.fieldName).join("."), v.ruleId])).toEqual([
      ["order_id", "string.uuid"],
      ["amount.amount_minor", "int64.gt_lte"],
      ["card_token", "required"],
    ]);
  });
});
