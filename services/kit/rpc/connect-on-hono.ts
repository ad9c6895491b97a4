import type { ConnectRouter } from "@connectrpc/connect";
import { createFetchHandler, type UniversalHandler } from "@connectrpc/connect/protocol";
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

/**
 * The fast lane for the common call, Connect unary POST (`application/proto` or `application/json`,
 * uncompressed), answered before any routing: a Map lookup on the path, the body read in one piece,
 * and the router's own handler (connect-es: protocol negotiation, size limit, timeout header,
 * interceptors, context, error JSON, headers and trailers) run on it. Only the adaptation between the
 * fetch Request/Response and connect-es's universal request/response is ours; createFetchHandler's
 * stream plumbing costs a third of a call for a body that is one chunk either way. Everything else
 * (GET, streams, gRPC-Web, compressed bodies, unknown paths) returns undefined and takes the usual route.
 */
export function connectUnaryFastLane(router: ConnectRouter): (req: Request) => Promise<Response> | undefined {
  const unary = new Map<string, UniversalHandler>();
  for (const h of router.handlers) if (h.method.methodKind === "unary") unary.set(h.requestPath, h);
  return (req) => {
    if (req.method !== "POST") return undefined;
    const handler = unary.get(pathOf(req.url));
    if (!handler) return undefined;
    const contentType = req.headers.get("content-type");
    if (contentType !== "application/proto" && contentType !== "application/json") return undefined;
    if (req.headers.has("content-encoding")) return undefined;
    return serveUnary(handler, req);
  };
}

async function serveUnary(handler: UniversalHandler, req: Request): Promise<Response> {
  const body = new Uint8Array(await req.arrayBuffer());
  const res = await handler({
    httpVersion: "1.1",
    method: req.method,
    url: req.url,
    header: req.headers,
    // An iterable, not the bytes themselves, so connect-es applies readMaxBytes and the Content-Length check as usual.
    body: oneChunk(body),
    signal: req.signal,
  });
  if (res.body === undefined) return new Response(null, { status: res.status, headers: res.header });
  const chunks: Uint8Array[] = [];
  for await (const chunk of res.body) chunks.push(chunk);
  return new Response(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks), { status: res.status, headers: res.header });
}

function oneChunk(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  return {
    [Symbol.asyncIterator]() {
      let done = false;
      return {
        next: () => {
          if (done) return Promise.resolve({ done: true, value: undefined });
          done = true;
          return Promise.resolve({ done: false, value: bytes });
        },
      };
    },
  };
}

/** The path of an absolute request URL, without parsing the whole URL. */
function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start < 0) return "/";
  const q = url.indexOf("?", start);
  return q < 0 ? url.slice(start) : url.slice(start, q);
}

/** For the app's notFound: an unknown RPC path gets a protocol error, not an HTML 404. */
export function rpcNotFound(req: Request): Response | undefined {
  const path = new URL(req.url).pathname;
  if (!RPC_PATH.test(path)) return undefined;
  const { status, headers, body } = unimplementedResponse(path, req.headers.get("content-type"));
  return new Response(body, { status, headers });
}
