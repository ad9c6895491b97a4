// The policy source follows a KV bucket without a JetStream consumer of its own: it reads the keys at
// start and after a reconnect, and a plain subscription tells it which key changed. On a NATS of the
// test's own, which it stops and starts.
import { expect, test } from "bun:test";
import { Kvm } from "@nats-io/kv";
import pino from "pino";
import { testNatsServerOfFile } from "../testing/test-nats-server";
import { waitFor } from "../testing/service-process";
import { kvPolicies } from "./policy-source";

const nats = testNatsServerOfFile();
const log = pino({ level: "silent" });
const open = nats.connect;

test("defaults until the bucket exists; then every put, a bad value refused, a delete back to defaults", async () => {
  const bucket = "later_policies";
  const source = kvPolicies(await open(), { bucket, log });
  await source.ready;
  expect(source.settingsFor("payment").retry.maxRetries).toBe(2);
  const changed: string[] = [];
  source.onChange((t) => changed.push(t));

  const kv = await new Kvm(await open()).create(bucket);
  await kv.put("payment", '{"retry":{"maxRetries":0}}');
  await waitFor(() => source.settingsFor("payment").retry.maxRetries === 0, { what: "the put to apply" });
  await kv.put("payment", '{"retry":{"maxRetries":"many"}}');
  await kv.put("customer", '{"retry":{"maxRetries":4}}');
  await waitFor(() => source.settingsFor("customer").retry.maxRetries === 4, { what: "the customer put to apply" });
  expect(source.settingsFor("payment").retry.maxRetries).toBe(0);
  await kv.delete("payment");
  await waitFor(() => source.settingsFor("payment").retry.maxRetries === 2, {
    what: "the delete to bring defaults back",
  });
  expect(changed).toEqual(["payment", "customer", "payment"]);
  await source.stop();
});

test("a change made while the connection was down is read after the reconnect", async () => {
  const bucket = "reconnect_policies";
  const kv0 = await new Kvm(await open({ reconnectTimeWait: 100 })).create(bucket);
  await kv0.put("payment", '{"retry":{"maxRetries":1}}');
  const lines: { msg: string; via?: string; revision?: number }[] = [];
  const watched = pino({ level: "info" }, { write: (l: string) => void lines.push(JSON.parse(l)) });
  // A long reconnect wait leaves room to change the bucket before this connection is back.
  const service = await open({ reconnectTimeWait: 4000, reconnectJitter: 0, maxReconnectAttempts: -1 });
  const source = kvPolicies(service, { bucket, log: watched });
  await source.ready;
  expect(source.settingsFor("payment").retry.maxRetries).toBe(1);

  await nats.server.stop();
  await nats.server.start();
  const operator = await open();
  const revision = await (await new Kvm(operator).open(bucket)).put("payment", '{"retry":{"maxRetries":3}}');
  await operator.flush();
  await waitFor(() => source.settingsFor("payment").retry.maxRetries === 3, {
    what: "the change to arrive after the reconnect",
    timeoutMs: 15_000,
  });
  expect(lines.find((l) => l.msg === "policy settings applied" && l.revision === revision)?.via).toBe("load");
  await source.stop();
}, 30_000);
