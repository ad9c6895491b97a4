// startService in this process: a start that fails half-way leaves nothing behind (listeners, NATS
// connection, parts), and a started service stops its parts in the reverse order of their start.
import { expect, test } from "bun:test";
import { connect, errors } from "@nats-io/transport-node";
import { registeredName } from "./nats/namespace";
import { startService, type ServiceDefinition } from "./service";
import { freePort } from "./testing/free-port";

const natsUrl = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
const namespace = `svc${crypto.randomUUID().slice(0, 8)}`;

const listening = (port: number) =>
  fetch(`http://127.0.0.1:${port}/`).then(
    () => true,
    () => false,
  );

/** How many instances of `name` answer $SRV.PING.<namespace>-<name>: each does while it is registered and connected. */
const instancesOf = async (name: string) => {
  const nc = await connect({ servers: natsUrl });
  try {
    const replies = await nc.requestMany(`$SRV.PING.${registeredName(namespace, name)}`, "", { maxWait: 300 });
    let n = 0;
    for await (const _ of replies) n++;
    return n;
  } catch (e) {
    if (e instanceof errors.NoRespondersError) return 0;
    throw e;
  } finally {
    await nc.close();
  }
};

const definition = (name: string, events: string[]): ServiceDefinition => ({
  name,
  version: "0.0.0",
  description: "a service of the kit's own test",
  ports: { http: 0, ops: 0 },
  build: () => ({
    rest: (app) => app.get("/hello", (c) => c.text("hello")),
    stop: async () => void events.push("parts stopped"),
  }),
});

const env = (name: string, extra: Record<string, string>) => ({
  NATS_URL: natsUrl,
  PLATFORM_NAMESPACE: namespace,
  LOG_LEVEL: "silent",
  RESILIENCE_POLICY_BUCKET: `${namespace}_none`,
  ...Object.fromEntries(Object.entries(extra).map(([k, v]) => [`${name.toUpperCase()}_${k}`, v])),
});

test("a port in use stops the start before anything else, naming the variable that sets it", async () => {
  const name = `busy${crypto.randomUUID().slice(0, 6)}`;
  const events: string[] = [];
  let built = false;
  const def = definition(name, events);
  const taken = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("someone else") });
  try {
    await expect(
      startService(
        { ...def, build: (ctx) => ((built = true), def.build(ctx)) },
        env(name, { HTTP_PORT: String(taken.port), OPS_PORT: "0" }),
      ),
    ).rejects.toThrow(
      `${name.toUpperCase()}_HTTP_PORT=${taken.port}: port ${taken.port} on 127.0.0.1 is in use (another instance running? ${name.toUpperCase()}_HTTP_PORT=0 picks a free port)`,
    );
    expect(built).toBe(false);
    expect(await instancesOf(name)).toBe(0);
  } finally {
    taken.stop(true);
  }
});

test("a start that fails on a port taken after the check stops every part it had started, the HTTP listener among them", async () => {
  const name = `fails${crypto.randomUUID().slice(0, 6)}`;
  const events: string[] = [];
  const httpPort = await freePort();
  const opsPort = await freePort();
  let taken: ReturnType<typeof Bun.serve> | undefined;
  const def = definition(name, events);
  try {
    // Free when the kit looks at start, taken by someone else while the service builds its parts.
    const racing: ServiceDefinition = {
      ...def,
      build: (ctx) => {
        taken = Bun.serve({ hostname: "127.0.0.1", port: opsPort, fetch: () => new Response("someone else") });
        return def.build(ctx);
      },
    };
    await expect(
      startService(racing, env(name, { HTTP_PORT: String(httpPort), OPS_PORT: String(opsPort) })),
    ).rejects.toThrow(`${name.toUpperCase()}_OPS_PORT=${opsPort}`);
    // The public listener had started before the operations port failed: it is closed again.
    expect(await listening(httpPort)).toBe(false);
    expect(events).toEqual(["parts stopped"]);
    expect(await instancesOf(name)).toBe(0);
  } finally {
    taken?.stop(true);
  }
});

test("a started service serves, and stop() deregisters, closes its listeners and stops its parts once", async () => {
  const name = `runs${crypto.randomUUID().slice(0, 6)}`;
  const events: string[] = [];
  const service = await startService(definition(name, events), env(name, {}));
  const httpPort = Number(new URL(service.endpoints.http).port);
  expect(await (await fetch(`${service.endpoints.http}/hello`)).text()).toBe("hello");
  expect(await instancesOf(name)).toBe(1);
  await Promise.all([service.stop(), service.stop()]);
  expect(events).toEqual(["parts stopped"]);
  expect(await listening(httpPort)).toBe(false);
  expect(await listening(Number(new URL(service.endpoints.ops!).port))).toBe(false);
  expect(await instancesOf(name)).toBe(0);
});
