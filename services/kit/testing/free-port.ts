import { createServer } from "node:net";

/** A TCP port on 127.0.0.1 nobody listens on right now: for servers a test starts itself (NATS, Postgres). */
export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
