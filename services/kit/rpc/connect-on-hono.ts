import type { ConnectRouter } from "@connectrpc/connect";
import { createFetchHandler } from "@connectrpc/connect/protocol";
import type { Hono } from "hono";
import { unimplementedResponse } from "./unimplemented";

/** Paths shaped like an RPC: /package.Service/Method. */
const RPC_PATH = /^\/[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)+\/[A-Za-z_]\w*$/;

/**
 * Serves every handler of a Connect router from a Hono app: Connect (JSON and binary, POST and GET)
 * and gRPC-Web, straight from the fetch Request Bun hands us. Registered before any middleware, so
 * an RPC costs one route lookup.
 */
export function mountConnect(app: Hono<any>, router: ConnectRouter): void {
  for (const handler of router.handlers) {
    const fetchHandler = createFetchHandler(handler, { httpVersion: "1.1" });
    app.on(handler.allowedMethods, handler.requestPath, (c) => fetchHandler(c.req.raw));
  }
}

/** For the app's notFound: an unknown RPC path gets a protocol error, not an HTML 404. */
export function rpcNotFound(req: Request): Response | undefined {
  const path = new URL(req.url).pathname;
  if (!RPC_PATH.test(path)) return undefined;
  const { status, headers, body } = unimplementedResponse(path, req.headers.get("content-type"));
  return new Response(body, { status, headers });
}
