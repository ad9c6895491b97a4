// Events an older version wrote still decode: tests/fixtures/events/<type>.bin are payloads as they were
// stored on the streams (written once by cli/event-fixtures.ts, never rewritten), and every consumer of
// the platform reads each one of its types through its own decode path (protobuf decode and the
// handler's validate), as it would on redelivery or replay. Fields are added, old numbers are never
// reused (reserved), so this holds by construction; `buf breaking` guards the numbers, this the bytes.
import { fromBinary, toJson } from "@bufbuild/protobuf";
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { FIXTURES, fixtureFile } from "../cli/event-fixtures";
import type { EventConsumer } from "../services/kit/events";
import { decodeStoredEvent } from "../services/kit/testing";
import { customerProfiles, orderProfiles } from "../services/marketing/events/profile-builders";
import { customerCopies } from "../services/notification/events/customer-copies";
import { orderEmails } from "../services/notification/events/order-emails";
import { paymentOutcomesConsumer } from "../services/order/events/payment-outcomes";
import { paymentRequestsConsumer } from "../services/payment/events/payment-requests";
import { PLATFORM_CONSUMERS, PLATFORM_STREAMS } from "../services/platform/communication";

// Definitions only: nothing here runs a handler, so their dependencies are never touched.
const none = undefined as never;
const CONSUMERS: EventConsumer[] = [
  paymentOutcomesConsumer(none),
  paymentRequestsConsumer(none, { attempts: 1 }),
  orderEmails(none),
  customerCopies(),
  orderProfiles(),
  customerProfiles(),
];
const TYPES = PLATFORM_STREAMS.flatMap((s) => s.events);

test("the consumers checked here are all of the platform's", () => {
  expect(CONSUMERS.map((c) => c.name).sort()).toEqual(PLATFORM_CONSUMERS.map((c) => c.consumer).sort());
});

test("every event type has a stored fixture, and every fixture is an event type", () => {
  expect(TYPES.filter((t) => !existsSync(fixtureFile(t.type))).map((t) => t.type)).toEqual([]); // bun cli/event-fixtures.ts
  expect(readdirSync(FIXTURES).sort()).toEqual(TYPES.map((t) => `${t.type}.bin`).sort());
});

describe.each(CONSUMERS.map((c) => [c.name, c] as const))("%s", (_, consumer) => {
  test.each(consumer.handlers.map((h) => [h.type.type] as const))("reads a stored %s", async (type) => {
    const bytes = new Uint8Array(readFileSync(fixtureFile(type)));
    const read = await decodeStoredEvent(consumer, type, bytes);
    expect(read).toHaveProperty("event");
    const schema = consumer.handlers.find((h) => h.type.type === type)!.type.schema;
    // Nothing of the stored event is lost or misread: it says what it said when it was written.
    expect(toJson(schema, (read as { event: never }).event)).toEqual(toJson(schema, fromBinary(schema, bytes)));
    expect((read as { event: { $unknown?: unknown } }).event.$unknown).toBeUndefined();
  });
});
