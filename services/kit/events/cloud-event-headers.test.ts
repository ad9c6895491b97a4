import { describe, expect, test } from "bun:test";
import { headers } from "@nats-io/transport-node";
import { CE, eventHeaders, newTraceparent, readEventMeta } from "./cloud-event-headers";

describe("CloudEvents headers", () => {
  test("what eventHeaders writes, readEventMeta reads back", () => {
    const meta = { id: crypto.randomUUID(), type: "shop.order.v1.OrderConfirmed", source: "/shop/order", time: new Date("2025-01-02T03:04:05.678Z"), subject: "o-1", traceparent: newTraceparent() };
    const h = eventHeaders(meta);
    expect(h.get(CE.specversion)).toBe("1.0");
    expect(h.get(CE.contentType)).toBe("application/protobuf");
    expect(readEventMeta(h)).toEqual(meta);
  });

  test("a message without an id, a type or a readable time is not an event", () => {
    const h = headers();
    expect(readEventMeta(undefined)).toEqual({ problem: "header ce-id is missing" });
    h.set(CE.id, "e-1");
    expect(readEventMeta(h)).toEqual({ problem: "header ce-type is missing" });
    h.set(CE.type, "t");
    h.set(CE.time, "yesterday");
    expect(readEventMeta(h)).toEqual({ problem: 'header ce-time is not a time: "yesterday"' });
  });

  test("a malformed traceparent is dropped rather than passed on", () => {
    const h = eventHeaders({ id: "e", type: "t", source: "s", time: new Date(), subject: "", traceparent: "garbage" });
    expect(readEventMeta(h)).toMatchObject({ traceparent: "" });
    expect(newTraceparent()).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  });
});
