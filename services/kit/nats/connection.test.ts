// The bus over TLS, as the compose cluster runs it: a nats-server of the test's own with a certificate
// from deploy/nats/make-certs.sh; a service trusting the CA (NATS_CA_FILE) connects, one without it does not.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTestNatsServer, type TestNatsServer } from "../testing/test-nats-server";
import { createLogger } from "../log";
import { connectNats } from "./connection";

const certs = mkdtempSync(join(tmpdir(), "certs-"));
let nats: TestNatsServer;

beforeAll(async () => {
  const made = Bun.spawnSync(["bash", join(import.meta.dir, "../../../deploy/nats/make-certs.sh"), certs, "localhost"]);
  expect(made.exitCode).toBe(0);
  nats = await startTestNatsServer({
    config: `tls { cert_file: ${JSON.stringify(join(certs, "server-cert.pem"))}, key_file: ${JSON.stringify(join(certs, "server-key.pem"))}, timeout: 2 }\n`,
  });
});

afterAll(async () => {
  await nats?.destroy();
  rmSync(certs, { recursive: true, force: true });
});

test("with the CA, a TLS connection; without it, a clear refusal naming NATS_URL", async () => {
  const log = createLogger("tls-test", "silent");
  const url = nats.url.replace("nats://", "tls://").replace("127.0.0.1", "localhost");
  const nc = await connectNats({ url, name: "tls-test", log, caFile: join(certs, "ca.pem") });
  expect(nc.info?.tls_required).toBe(true);
  await nc.flush();
  await nc.close();
  const refused = await connectNats({ url, name: "tls-test", log, timeoutMs: 2000 }).then(
    () => "connected",
    (e) => String(e),
  );
  expect(refused).toContain("cannot reach NATS at NATS_URL=");
});
