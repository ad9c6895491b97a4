import { expect, test } from "bun:test";
import { eventsConfig } from "../events/events-config";
import { serviceConfig } from "../service";
import { registeredName, serviceOfRegistration } from "./namespace";

test("the namespace decides the events prefix and the policy bucket unless they are set", () => {
  expect(eventsConfig({}).EVENTS_PREFIX).toBe("shop");
  expect(eventsConfig({ PLATFORM_NAMESPACE: "acme" }).EVENTS_PREFIX).toBe("acme");
  expect(eventsConfig({ PLATFORM_NAMESPACE: "acme", EVENTS_PREFIX: "t1" }).EVENTS_PREFIX).toBe("t1");
  expect(serviceConfig("payment", { http: 0 }, { PLATFORM_NAMESPACE: "acme" }).RESILIENCE_POLICY_BUCKET).toBe(
    "acme_policies",
  );
  expect(
    serviceConfig("payment", { http: 0 }, { PLATFORM_NAMESPACE: "acme", RESILIENCE_POLICY_BUCKET: "mine" })
      .RESILIENCE_POLICY_BUCKET,
  ).toBe("mine");
});

test("a namespace that cannot be one token of every name is refused by name", () => {
  for (const bad of ["shop-eu", "Shop", "shop.eu", "1shop", "a".repeat(33)])
    expect(() => serviceConfig("payment", { http: 0 }, { PLATFORM_NAMESPACE: bad })).toThrow(/PLATFORM_NAMESPACE=/);
});

test("a registered name belongs to one namespace only", () => {
  expect(registeredName("shop", "payment")).toBe("shop-payment");
  expect(serviceOfRegistration("shop", "shop-payment")).toBe("payment");
  expect(serviceOfRegistration("shop", "shopx-payment")).toBeUndefined();
  expect(serviceOfRegistration("shop", "payment")).toBeUndefined();
  expect(serviceOfRegistration("shop", "shop-")).toBeUndefined();
});
