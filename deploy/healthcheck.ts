// Container healthcheck: `bun deploy/healthcheck.ts <port>` exits 0 when the service on that port is
// ready (/readyz: accepting, NATS and its database answer). The image has no curl; bun is enough.
const port = Number(process.argv[2]);
try {
  const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(3000) });
  process.exit(res.ok ? 0 : 1);
} catch {
  process.exit(1);
}
