import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { ConnectRouterOptions, ConnectRouter } from "@connectrpc/connect";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { unimplementedResponse } from "./unimplemented";

export interface GrpcServer {
  readonly port: number;
  /** Stops accepting, lets in-flight calls finish (GOAWAY), resolves when every session closed or the timeout hit. */
  stop(timeoutMs: number): Promise<void>;
}

/**
 * gRPC (and Connect, gRPC-Web) over HTTP/2 cleartext with node:http2 and connect-node. Bun.serve sends
 * no HTTP trailers, so native gRPC needs this second port.
 */
export async function startGrpcServer(opts: {
  routes: (router: ConnectRouter) => void;
  routerOptions: ConnectRouterOptions;
  host: string;
  port: number;
  /** A session with no frames for this long is closed (idle connections are not free to keep). */
  idleTimeoutMs?: number;
  /** Streams one session may have open at once (announced in its SETTINGS). */
  maxStreamsPerSession?: number;
}): Promise<GrpcServer> {
  const handler = connectNodeAdapter({
    ...opts.routerOptions,
    routes: opts.routes,
    fallback(req, res) {
      const contentType = req.headers["content-type"] ?? null;
      const { status, headers, body } = unimplementedResponse(req.url ?? "/", contentType);
      if (contentType?.startsWith("application/grpc") && !contentType.startsWith("application/grpc-web")) {
        // Status in real trailers: grpc-js does not read a trailers-only answer from Bun's HTTP/2.
        const { "grpc-status": code, "grpc-message": message, ...rest } = headers;
        res.writeHead(200, rest);
        res.addTrailers({ "grpc-status": code!, "grpc-message": message! });
        res.end();
        return;
      }
      res.writeHead(status, headers);
      res.end(body);
    },
  });
  const server = http2.createServer({ settings: { maxConcurrentStreams: opts.maxStreamsPerSession ?? 100 } }, handler);
  const sessions = new Set<http2.Http2Session>();
  server.on("session", (s) => {
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
    // Idle: say goodbye (GOAWAY, in-flight streams finish), then make sure the socket goes.
    s.setTimeout(opts.idleTimeoutMs ?? 30_000, () => {
      s.close();
      setTimeout(() => s.destroy(), 5000).unref();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    async stop(timeoutMs) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sessions) s.close();
      const timer = setTimeout(() => {
        for (const s of sessions) s.destroy();
      }, timeoutMs);
      await closed;
      clearTimeout(timer);
    },
  };
}
