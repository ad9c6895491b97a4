import { timestampDate } from "@bufbuild/protobuf/wkt";
import { CustomerRegistered, CUSTOMERS } from "../../customer/contract/events";
import { defineConsumer, on } from "../../kit/events";
import { saveCustomer } from "../db/notification-store";
import type * as schema from "../db/schema";

/** Keeps notification's copy of every customer's name and e-mail, from CustomerRegistered. */
export function customerCopies() {
  return defineConsumer<typeof schema>({
    name: "notification-customers",
    stream: CUSTOMERS,
    // Saving the copy is its only effect: many registrations can share a transaction.
    batch: 32,
    handlers: [
      on(
        CustomerRegistered,
        async ({ customer }, { tx }) => {
          const c = customer!;
          await saveCustomer(tx, {
            id: c.id,
            email: c.email,
            name: c.name,
            registeredAt: c.createdAt ? timestampDate(c.createdAt) : new Date(0),
          });
        },
        {
          validate: ({ customer: c }) =>
            !c
              ? "customer is missing"
              : !c.id
                ? "customer.id is missing"
                : !c.email
                  ? "customer.email is missing"
                  : undefined,
        },
      ),
    ],
  });
}
