import type { ConnectRouter, ConnectRouterOptions } from "@connectrpc/connect";
import { createAsyncIterable, createFetchHandler, readAllBytes } from "@connectrpc/connect/protocol";
import {
  contentTypeUnaryJson,
  contentTypeUnaryProto,
  headerContentType,
  headerUnaryAcceptEncoding,
  headerUnaryContentLength,
  headerUnaryEncoding,
} from "@connectrpc/connect/protocol-connect";
import type { Hono } from "hono";
import { CallMemory } from "./call-memory";
import { answerUnary, boundedBody, unaryMethods } from "./unary-answer";
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
 * and connect-es's own unary steps run on it (unary-answer.ts). What it leaves out is connect-es's
 * universal request/response plumbing (async iterables around a body that is one chunk either way, a
 * copy of the request headers, protocol negotiation already decided by the content type), which the
 * profile of bench/rpc.ts put at a third of the server's time for a small call. connect-on-hono.test.ts
 * holds it to answering byte for byte as createFetchHandler does. Everything else (GET, streams,
 * gRPC-Web, compressed bodies, response compression a client asked for, methods registered with
 * options of their own, unknown paths) returns undefined and takes the usual route.
 *
 * `routes` registers the implementations (as on a ConnectRouter), `options` are the router's.
 */
export function connectUnaryFastLane(
  routes: (router: ConnectRouter) => void,
  options: ConnectRouterOptions = {},
  /** Calls that may arrive twice (over NATS, then here): answered once (call-memory.ts). */
  memory?: CallMemory,
): (req: Request) => Promise<Response> | undefined {
  const { methods: unary, opt } = unaryMethods(routes, options);
  const compressing = opt.acceptCompression.length > 0;
  return (req) => {
    if (req.method !== "POST") return undefined;
    const method = unary.get(pathOf(req.url));
    if (!method) return undefined;
    const contentType = req.headers.get(headerContentType);
    if (contentType !== contentTypeUnaryProto && contentType !== contentTypeUnaryJson) return undefined;
    if (req.headers.has(headerUnaryEncoding) || (compressing && req.headers.has(headerUnaryAcceptEncoding)))
      return undefined;
    const run = () =>
      answerUnary(method, opt, {
        url: req.url,
        requestMethod: req.method,
        headers: req.headers,
        signal: req.signal,
        body: (max) => readBody(req, max),
        binary: contentType === contentTypeUnaryProto,
      });
    const key = memory && CallMemory.keyOf(req.headers);
    const { answer, again } = key ? memory!.answer(key, run) : { answer: run(), again: false };
    return answer.then(({ status, header, body }) => {
      // A remembered answer's headers are shared with its first delivery.
      const headers = again ? new Headers(header) : header;
      headers.set(headerUnaryContentLength, body.byteLength.toString(10));
      return new Response(body, { status, headers });
    });
  };
}

/**
 * The request body in one piece. A body whose length matches its Content-Length and fits readMaxBytes is
 * used as read; anything else goes through connect-es's readAllBytes for its exact errors.
 */
async function readBody(req: Request, readMaxBytes: number): Promise<Uint8Array> {
  const declared = req.headers.get(headerUnaryContentLength);
  if (declared !== null && Number(declared) > readMaxBytes)
    return readAllBytes(createAsyncIterable([]), readMaxBytes, declared);
  return boundedBody(new Uint8Array(await req.arrayBuffer()), readMaxBytes, declared);
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
