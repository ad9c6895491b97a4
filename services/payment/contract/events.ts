// Payment's events, and the command it takes on its stream: the one file of the payment service other
// services, the CLI and tests may import.
import {
  PaymentFailedSchema,
  PaymentProcessedSchema,
  PaymentRefundedSchema,
  PaymentRequestedSchema,
} from "../../contracts/gen/shop/payment/v1/events_pb";
import { defineEvent, defineStream } from "../../kit/events";

export const PAYMENTS = defineStream("PAYMENTS", "payments");

export const PaymentProcessed = defineEvent(PAYMENTS, PaymentProcessedSchema, "processed");
export const PaymentFailed = defineEvent(PAYMENTS, PaymentFailedSchema, "failed");
export const PaymentRefunded = defineEvent(PAYMENTS, PaymentRefundedSchema, "refunded");
/** A command rather than an event: the order service asks for a charge it could not make synchronously. */
export const PaymentRequested = defineEvent(PAYMENTS, PaymentRequestedSchema, "requested");
