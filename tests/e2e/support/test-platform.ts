// The services of one test file as real processes in a platform of the file's own: a namespace, the
// schemas and the event streams no other file touches, torn down together.
import {
  startServiceProcess,
  type ServiceProcess,
  testSchemas,
  type TestSchemas,
  testEventStreams,
  type TestEventStreams,
} from "../../../services/kit/testing";
import { policyBucketOf } from "../../../services/kit/nats";

export interface TestPlatform {
  readonly namespace: string;
  /** The services' schemas on the test database. */
  readonly db: TestSchemas;
  /** The gateway's secrets, fresh for this platform (it has no database; these are what it needs). */
  readonly gatewaySecrets: { GATEWAY_JWT_SECRET: string; GATEWAY_ADMIN_API_KEY: string };
  /** The processes running, in the order they started. */
  readonly procs: readonly ServiceProcess[];
  /** The platform's event streams, there once the first service started. */
  readonly streams: TestEventStreams;
  /** The first running instance of a service. */
  proc(name: string): ServiceProcess;
  /** Starts (another instance of) a service with the platform's environment, and `env` over it. */
  start(name: string, env?: Record<string, string>): Promise<ServiceProcess>;
  /** Stops one process, SIGTERM unless told (asserting nothing about its exit: the code is the caller's to check). */
  stopProcess(p: ServiceProcess, signal?: NodeJS.Signals): Promise<number>;
  /** Stops every process, then drops the streams, the namespace's policies bucket and the schemas. */
  stop(): Promise<void>;
}

/**
 * A platform for one test file, named `<prefix><random>`: each service it starts gets its schema (the
 * gateway its secrets), the file's event streams, the namespace, and `env` (the file's knobs).
 *
 * @example
 *   const platform = testPlatform("flow", { CONSUMER_BACKOFF_MS: "100,200,400" });
 *   beforeAll(() => Promise.all(["customer", "inventory", "payment", "order"].map((n) => platform.start(n))));
 *   afterAll(() => platform.stop());
 */
export function testPlatform(prefix: string, env: Record<string, string> = {}): TestPlatform {
  const namespace = `${prefix}${crypto.randomUUID().slice(0, 8)}`;
  const db = testSchemas();
  const gatewaySecrets = {
    GATEWAY_JWT_SECRET: `${crypto.randomUUID()}${crypto.randomUUID()}`,
    GATEWAY_ADMIN_API_KEY: crypto.randomUUID(),
  };
  const procs: ServiceProcess[] = [];
  let streams: Promise<TestEventStreams> | undefined;
  let opened: TestEventStreams | undefined;
  const openStreams = () =>
    (streams ??= testEventStreams().then((s) => {
      opened = s;
      return s;
    }));
  const stopProcess = async (p: ServiceProcess, signal?: NodeJS.Signals) => {
    const i = procs.indexOf(p);
    if (i >= 0) procs.splice(i, 1);
    return p.stop(signal);
  };
  return {
    namespace,
    db,
    gatewaySecrets,
    procs,
    get streams() {
      if (!opened) throw new Error("the platform's streams are there once a service started");
      return opened;
    },
    proc(name) {
      const p = procs.find((p) => p.name === name);
      if (!p) throw new Error(`no ${name} running on this platform`);
      return p;
    },
    async start(name, extra = {}) {
      const { env: streamsEnv } = await openStreams();
      const own = name === "gateway" ? gatewaySecrets : db.env(name);
      const p = await startServiceProcess(name, {
        env: { ...own, ...streamsEnv, PLATFORM_NAMESPACE: namespace, ...env, ...extra },
      });
      procs.push(p);
      return p;
    },
    stopProcess,
    async stop() {
      await Promise.all([...procs].map((p) => stopProcess(p)));
      // The namespace's policies bucket, made by a policy edit (cli policies, the console): a KV bucket is a stream.
      await opened?.jsm.streams.delete(`KV_${policyBucketOf(namespace)}`).catch(() => {});
      await opened?.drop();
      await db.drop();
    },
  };
}
