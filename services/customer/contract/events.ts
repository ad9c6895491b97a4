// Customer's events: the one file of the customer service other services, the CLI and tests may import.
import { CustomerRegisteredSchema } from "../../contracts/gen/shop/customer/v1/customer_pb";
import { defineEvent, defineStream } from "../../kit/events";

export const CUSTOMERS = defineStream("CUSTOMERS", "customers");

export const CustomerRegistered = defineEvent(CUSTOMERS, CustomerRegisteredSchema, "registered");
