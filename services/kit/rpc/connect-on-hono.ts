import type { DescMessage } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  createContextValues,
  createMethodImplSpec,
  createServiceImplSpec,
  type ConnectRouter,
  type ConnectRouterOptions,
  type HandlerContext,
  type MethodImplSpec,
} from "@connectrpc/connect";
import {
  createAsyncIterable,
  createFetchHandler,
  createMethodSerializationLookup,
  createMethodUrl,
  invokeUnaryImplementation,
  mergeNonProtocolHeaders,
  readAllBytes,
  validateUniversalHandlerOptions,
  type MethodSerializationLookup,
} from "@connectrpc/connect/protocol";
import {
  codeToHttpStatus,
  contentTypeUnaryJson,
  contentTypeUnaryProto,
  errorToJsonBytes,
  headerContentType,
  headerTimeout,
  headerUnaryAcceptEncoding,
  headerUnaryContentLength,
  headerUnaryEncoding,
  parseTimeout,
  trailerMux,
} from "@connectrpc/connect/protocol-connect";
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
 * and connect-es's own unary steps run on it, from its exported pieces: timeout header, handler
 * context, request gate, serialization with its size limits, interceptors, error JSON and status,
 * trailers as headers. What it leaves out is connect-es's universal request/response plumbing
 * (async iterables around a body that is one chunk either way, a copy of the request headers, protocol
 * negotiation already decided by the content type), which the profile of bench/rpc.ts put at a third
 * of the server's time for a small call. connect-on-hono.test.ts holds it to answering byte for byte as
 * createFetchHandler does. Everything else (GET, streams, gRPC-Web, compressed bodies, response
 * compression a client asked for, methods registered with options of their own, unknown paths)
 * returns undefined and takes the usual route.
 *
 * `routes` registers the implementations (as on a ConnectRouter), `options` are the router's.
 */
export function connectUnaryFastLane(
  routes: (router: ConnectRouter) => void,
  options: ConnectRouterOptions = {},
): (req: Request) => Promise<Response> | undefined {
  const opt = validateUniversalHandlerOptions(options);
  const unary = new Map<string, UnaryMethod>();
  // Only methods served with the router's own options: per-service or per-method options take the usual route.
  const add = (spec: MethodImplSpec) => {
    if (spec.kind !== "unary") return;
    unary.set(createMethodUrl("/", spec.method), {
      spec,
      serialization: createMethodSerializationLookup(spec.method, opt.binaryOptions, opt.jsonOptions, opt),
    });
  };
  const recorder: ConnectRouter = {
    handlers: [],
    service(service, implementation, own) {
      if (!own) for (const spec of Object.values(createServiceImplSpec(service, implementation).methods)) add(spec);
      return recorder;
    },
    rpc(method, implementation, own) {
      if (!own) add(createMethodImplSpec(method, implementation));
      return recorder;
    },
  };
  routes(recorder);
  if (options.connect === false || opt.requireConnectProtocolHeader) unary.clear();
  const compressing = opt.acceptCompression.length > 0;
  return (req) => {
    if (req.method !== "POST") return undefined;
    const method = unary.get(pathOf(req.url));
    if (!method) return undefined;
    const contentType = req.headers.get(headerContentType);
    if (contentType !== contentTypeUnaryProto && contentType !== contentTypeUnaryJson) return undefined;
    if (req.headers.has(headerUnaryEncoding) || (compressing && req.headers.has(headerUnaryAcceptEncoding)))
      return undefined;
    return serveUnary(method, opt, req, contentType === contentTypeUnaryProto);
  };
}

// The reason a call's signal aborts with once it is answered, made once: abort() without a reason builds a
// DOMException (with its stack) per call, a twentieth of the server's time in the profile.
const CALL_ENDED = new ConnectError("the call has ended", Code.Canceled);

interface UnaryMethod {
  spec: MethodImplSpec & { kind: "unary" };
  serialization: MethodSerializationLookup<DescMessage, DescMessage>;
}

/** connect-es's unary handler (protocol-connect/handler-factory.js) for an uncompressed POST. */
async function serveUnary(
  { spec, serialization }: UnaryMethod,
  opt: ReturnType<typeof validateUniversalHandlerOptions>,
  req: Request,
  binary: boolean,
): Promise<Response> {
  const timeout = parseTimeout(req.headers.get(headerTimeout), opt.maxTimeoutMs);
  const context = unaryContext(spec, req, timeout.timeoutMs, opt.shutdownSignal, binary);
  let status = 200;
  let body: Uint8Array;
  try {
    if (opt.requestGate !== undefined) await opt.requestGate(context);
    if (timeout.error) throw timeout.error;
    const input = serialization.getI(binary).parse(await readBody(req, opt.readMaxBytes));
    const output = await invokeUnaryImplementation(spec, context, input, opt.interceptors);
    body = serialization.getO(binary).serialize(output);
  } catch (e) {
    context.end(e);
    const error =
      e instanceof ConnectError ? e : new ConnectError("internal error", Code.Internal, undefined, undefined, e);
    status = codeToHttpStatus(error.code);
    context.responseHeader.set(headerContentType, contentTypeUnaryJson);
    // Metadata of an error parsed from the wire (a downstream call's) is not relayed, only its payload.
    if (!error.isWireError) mergeNonProtocolHeaders(context.responseHeader, error.metadata);
    body = errorToJsonBytes(error, opt.jsonOptions);
  } finally {
    context.end(CALL_ENDED);
  }
  // Trailers travel as "trailer-" headers; without any, the response headers go out as they are (trailerMux copies them).
  let trailers = false;
  context.responseTrailer.forEach(() => (trailers = true));
  const header = trailers ? trailerMux(context.responseHeader, context.responseTrailer) : context.responseHeader;
  header.set(headerUnaryContentLength, body.byteLength.toString(10));
  return new Response(body, { status, headers: header });
}

/**
 * The handler context of one call, as createHandlerContext makes it, but with one AbortController for
 * the three ways a call ends early (the deadline from the timeout header, the client going away, the
 * server shutting down) where createHandlerContext links a controller per source through listeners on
 * each, and with the request's own headers where it copies them. Its signal aborts with the same
 * reasons: DeadlineExceeded at the deadline, the request's or the shutdown's reason, the reason `end`
 * is given. Context and signals were two fifths of the lane's own time in an in-process profile.
 */
function unaryContext(
  spec: UnaryMethod["spec"],
  req: Request,
  timeoutMs: number | undefined,
  shutdownSignal: AbortSignal | undefined,
  binary: boolean,
): HandlerContext & { end(reason: unknown): void } {
  const controller = new AbortController();
  const signal = controller.signal;
  const abort = (reason: unknown) => {
    if (!signal.aborted) controller.abort(reason);
  };
  const onRequestAbort = () => abort(req.signal.reason);
  const onShutdown = () => abort(shutdownSignal!.reason);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let deadline: number | undefined;
  if (timeoutMs !== undefined) {
    deadline = Date.now() + timeoutMs;
    const expire = () => abort(new ConnectError("the operation timed out", Code.DeadlineExceeded));
    if (timeoutMs <= 0) expire();
    else timer = setTimeout(expire, timeoutMs);
  }
  if (req.signal.aborted) onRequestAbort();
  else req.signal.addEventListener("abort", onRequestAbort);
  if (shutdownSignal?.aborted) onShutdown();
  else shutdownSignal?.addEventListener("abort", onShutdown);
  return {
    method: spec.method,
    service: spec.method.parent,
    protocolName: "connect",
    requestMethod: req.method,
    url: req.url,
    signal,
    timeoutMs: () => (deadline === undefined ? undefined : deadline - Date.now()),
    requestHeader: req.headers,
    responseHeader: new Headers({ [headerContentType]: binary ? contentTypeUnaryProto : contentTypeUnaryJson }),
    responseTrailer: new Headers(),
    values: createContextValues(),
    end(reason) {
      clearTimeout(timer);
      abort(reason);
      // The request's signal goes with the request; the server's shutdown signal lives on and must not collect a listener per call.
      shutdownSignal?.removeEventListener("abort", onShutdown);
    },
  };
}

/**
 * The request body in one piece. A body whose length matches its Content-Length and fits readMaxBytes is
 * used as read; anything else goes through connect-es's readAllBytes for its exact errors.
 */
async function readBody(req: Request, readMaxBytes: number): Promise<Uint8Array> {
  const declared = req.headers.get(headerUnaryContentLength);
  const hint = declared === null ? NaN : Number(declared);
  if (hint > readMaxBytes) return readAllBytes(createAsyncIterable([]), readMaxBytes, declared);
  const bytes = new Uint8Array(await req.arrayBuffer());
  if (bytes.byteLength === hint && hint <= readMaxBytes) return bytes;
  return readAllBytes(createAsyncIterable([bytes]), readMaxBytes, declared);
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
