// The HTTP/2 gRPC port under connections that sit idle: each session is closed after
// GRPC_IDLE_TIMEOUT_MS, and one session may open only GRPC_MAX_STREAMS_PER_SESSION streams at once.
// (Before: 500 idle connections stayed open for over a minute.)
import { afterAll, beforeAll, expect, test } from "bun:test";
import http2 from "node:http2";
import { startServiceProcess, waitFor, type ServiceProcess, testSchemas } from "../../services/kit/testing";

const db = testSchemas();
let inventory: ServiceProcess;

beforeAll(async () => {
  inventory = await startServiceProcess("inventory", {
    env: {
      ...db.env("inventory"),
      PLATFORM_NAMESPACE: `h2${crypto.randomUUID().slice(0, 8)}`,
      GRPC_IDLE_TIMEOUT_MS: "800",
      GRPC_MAX_STREAMS_PER_SESSION: "20",
    },
  });
});

afterAll(async () => {
  await inventory?.stop();
  await db.drop();
});

test("100 idle HTTP/2 sessions are all closed by the server after the idle timeout; each was offered 20 streams at most", async () => {
  const sessions = await Promise.all(
    Array.from(
      { length: 100 },
      () =>
        new Promise<http2.ClientHttp2Session>((resolve, reject) => {
          const s = http2.connect(inventory.grpc!);
          s.once("remoteSettings", () => resolve(s));
          s.once("error", reject);
        }),
    ),
  );
  try {
    expect(sessions.every((s) => s.remoteSettings.maxConcurrentStreams === 20)).toBe(true);
    const started = Date.now();
    await waitFor(() => sessions.every((s) => s.closed || s.destroyed), {
      timeoutMs: 10_000,
      intervalMs: 50,
      what: "the server to close every idle session",
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
  } finally {
    for (const s of sessions) s.destroy();
  }
});

test("a session in use is not cut: calls a second apart over 2 s on one session all succeed", async () => {
  const s = http2.connect(inventory.grpc!);
  try {
    for (let i = 0; i < 4; i++) {
      const status = await new Promise<number>((resolve, reject) => {
        const req = s.request({
          ":method": "POST",
          ":path": "/grpc.health.v1.Health/Check",
          "content-type": "application/json",
        });
        req.on("response", (h) => resolve(Number(h[":status"])));
        req.on("error", reject);
        req.end("{}");
        req.resume();
      });
      expect(status).toBe(200);
      await Bun.sleep(500);
    }
    expect(s.closed).toBe(false);
  } finally {
    s.destroy();
  }
});
