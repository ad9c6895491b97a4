import { describe, expect, test } from "bun:test";
import { headers } from "@nats-io/transport-node";
import { CE, eventHeaders, newTraceparent, readEventMeta } from "./cloud-event-headers";

describe("CloudEvents headers", () => {
  test("what eventHeaders writes, readEventMeta reads back", () => {
    const meta = {
      id: crypto.randomUUID(),
      type: "shop.order.v1.OrderConfirmed",
      source: "/shop/order",
      time: new Date("2025-01-02T03:04:05.678Z"),
      subject: "o-1",
      traceparent: newTraceparent(),
    };
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
    h.set(CE.type, "shop.t.v1.T");
    h.set(CE.source, "/test");
    h.set(CE.time, "yesterday");
    expect(readEventMeta(h)).toEqual({ problem: 'header ce-time is not a time: "yesterday"' });
  });

  test("an id that is no plain token (a path, a header of its own), a type that is no message name, a source that is no path: not an event", () => {
    const base = {
      id: "e-1",
      type: "shop.order.v1.OrderConfirmed",
      source: "/shop/order",
      time: new Date(),
      subject: "",
      traceparent: "",
    };
    for (const id of ["x/../../escaped", "a b", "x".repeat(129), ".hidden", "id;rm"])
      expect(readEventMeta(eventHeaders({ ...base, id }))).toMatchObject({
        problem: expect.stringContaining("header ce-id must be"),
      });
    expect(readEventMeta(eventHeaders({ ...base, type: "../etc" }))).toMatchObject({
      problem: expect.stringContaining("header ce-type is not a message name"),
    });
    expect(readEventMeta(eventHeaders({ ...base, source: "shop order" }))).toMatchObject({
      problem: expect.stringContaining("header ce-source must be a path"),
    });
    expect(readEventMeta(eventHeaders({ ...base, id: "3f0c5e2a-9b1d-4c6e-8f7a-2d4b6c8e0a11" }))).toMatchObject({
      id: "3f0c5e2a-9b1d-4c6e-8f7a-2d4b6c8e0a11",
    });
  });

  test("a malformed traceparent is dropped rather than passed on", () => {
    const h = eventHeaders({
      id: "e",
      type: "shop.t.v1.T",
      source: "/s",
      time: new Date(),
      subject: "",
      traceparent: "garbage",
    });
    expect(readEventMeta(h)).toMatchObject({ traceparent: "" });
    expect(newTraceparent()).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  });
});
