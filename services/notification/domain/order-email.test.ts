import { describe, expect, test } from "bun:test";
import { create } from "@bufbuild/protobuf";
import { join } from "node:path";
import { OrderSchema } from "../../contracts/gen/shop/order/v1/order_service_pb";
import { formatMoney, orderEmail, orderEventProblem } from "./order-email";
import { isTransientSmtpFailure } from "./smtp-failure";
import { loadTemplates, parseTemplate, render } from "./templates";

const templates = loadTemplates(join(import.meta.dir, "../templates"));
const order = create(OrderSchema, {
  id: "0b9f2c3e-1111-4222-8333-944455556666",
  customerId: "c0ffee00-1111-4222-8333-944455556666",
  lines: [{ productId: "sku-mug", quantity: 2, unitPrice: { amountMinor: 1250n, currency: "EUR" } }],
  total: { amountMinor: 2500n, currency: "EUR" },
});
const ada = { email: "ada@example.com", name: "Ada" };

describe("formatMoney", () => {
  test("minor units as a price, never through a float", () => {
    expect(formatMoney({ amountMinor: 4499n, currency: "EUR" } as never)).toBe("44.99 EUR");
    expect(formatMoney({ amountMinor: 5n, currency: "USD" } as never)).toBe("0.05 USD");
    expect(formatMoney({ amountMinor: 900719925474099312n, currency: "GBP" } as never)).toBe("9007199254740993.12 GBP");
  });
});

describe("templates", () => {
  test("a template is a Subject line, a blank line and a body; every placeholder must have a value", () => {
    const t = parseTemplate("Subject: Hi {{name}}\n\nBody {{name}}\n");
    expect(render(t, { name: "Ada" })).toEqual({ subject: "Hi Ada", body: "Body Ada\n" });
    expect(() => render(t, {})).toThrow("no value for {{name}}");
    expect(() => parseTemplate("no subject")).toThrow("Subject:");
  });

  test("a value cannot break the subject into a second header line", () => {
    expect(render(parseTemplate("Subject: {{x}}\n\n"), { x: "a\r\nBcc: evil@example.com" }).subject).toBe(
      "a Bcc: evil@example.com",
    );
  });
});

describe("orderEmail", () => {
  test("confirmed: the customer's name, the total and the lines", () => {
    const mail = orderEmail("order_confirmed", templates.order_confirmed, ada, { order });
    expect(mail.subject).toBe("Your order 0B9F2C3E is confirmed");
    expect(mail.text).toContain("Hello Ada,");
    expect(mail.text).toContain("2 x sku-mug at 12.50 EUR");
    expect(mail.text).toContain("Total: 25.00 EUR");
  });

  test("cancelled: says whether money went back", () => {
    expect(
      orderEmail("order_cancelled", templates.order_cancelled, ada, {
        order,
        reason: "out of stock",
        refunded: order.total,
      }).text,
    ).toContain("We have refunded 25.00 EUR to your card.");
    expect(orderEmail("order_cancelled", templates.order_cancelled, ada, { order, reason: "" }).text).toContain(
      "cancelled: no reason was given.\nNothing was charged.",
    );
  });

  test("an event without an order or a customer is unusable", () => {
    expect(orderEventProblem({})).toBe("order is missing");
    expect(orderEventProblem({ order: create(OrderSchema, { id: "x" }) })).toBe("order.customer_id is missing");
    expect(orderEventProblem({ order })).toBeUndefined();
  });
});

test("SMTP 4xx and connection failures are transient, 5xx permanent", () => {
  expect(isTransientSmtpFailure(Object.assign(new Error("try later"), { responseCode: 451 }))).toBe(true);
  expect(isTransientSmtpFailure(Object.assign(new Error("no such user"), { responseCode: 550 }))).toBe(false);
  expect(isTransientSmtpFailure(Object.assign(new Error("connect ECONNREFUSED"), { code: "ESOCKET" }))).toBe(true);
});
