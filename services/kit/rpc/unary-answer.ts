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
  parseTimeout,
  trailerMux,
} from "@connectrpc/connect/protocol-connect";

/**
 * Connect's unary protocol answered from parts, whatever carried the request: connect-es's own unary
 * steps (protocol-connect/handler-factory.js), from its exported pieces: timeout header, handler
 * context, request gate, serialization with its size limits, interceptors, error JSON and status,
 * trailers as headers. The HTTP fast lane (connect-on-hono.ts) and the NATS transport (nats/) hand it
 * what they received and send what it answers, so a caller cannot tell them apart but by speed.
 */

export type UnaryOptions = ReturnType<typeof validateUniversalHandlerOptions>;

export interface UnaryMethod {
  spec: MethodImplSpec & { kind: "unary" };
  serialization: MethodSerializationLookup<DescMessage, DescMessage>;
}

/** One unary request, as any transport received it. */
export interface UnaryRequest {
  /** The request's URL (the handler context shows it): an HTTP URL, or nats:<subject>. */
  url: string;
  /** HTTP's POST; what the context reports for other transports. */
  requestMethod: string;
  headers: Headers;
  /** Aborts when the caller goes away (HTTP); absent where the transport cannot tell. */
  signal?: AbortSignal;
  /** The body, checked against readMaxBytes. */
  body(readMaxBytes: number): Promise<Uint8Array>;
  /** Protobuf binary (application/proto), or JSON. */
  binary: boolean;
}

/** What to send back: the HTTP status Connect gives the outcome, headers (trailers mixed in as trailer-*), body. */
export interface UnaryAnswer {
  status: number;
  header: Headers;
  body: Uint8Array;
  /** The error the body carries, when it is one. */
  error?: ConnectError;
}

/** The unary methods a router's routes register with the router's own options, by path (/pkg.Service/Method). */
export function unaryMethods(
  routes: (router: ConnectRouter) => void,
  options: ConnectRouterOptions = {},
): { methods: Map<string, UnaryMethod>; opt: UnaryOptions } {
  const opt = validateUniversalHandlerOptions(options);
  const methods = new Map<string, UnaryMethod>();
  // Only methods served with the router's own options: per-service or per-method options take the usual route.
  const add = (spec: MethodImplSpec) => {
    if (spec.kind !== "unary") return;
    methods.set(createMethodUrl("/", spec.method), {
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
  if (options.connect === false || opt.requireConnectProtocolHeader) methods.clear();
  return { methods, opt };
}

// The reason a call's signal aborts with once it is answered, made once: abort() without a reason builds a
// DOMException (with its stack) per call, a twentieth of the server's time in the profile.
const CALL_ENDED = new ConnectError("the call has ended", Code.Canceled);

/** Answers one uncompressed unary request as connect-es's handler would. */
export async function answerUnary(
  { spec, serialization }: UnaryMethod,
  opt: UnaryOptions,
  req: UnaryRequest,
): Promise<UnaryAnswer> {
  const timeout = parseTimeout(req.headers.get(headerTimeout), opt.maxTimeoutMs);
  const context = unaryContext(spec, req, timeout.timeoutMs, opt.shutdownSignal);
  let status = 200;
  let body: Uint8Array;
  let failure: ConnectError | undefined;
  try {
    if (opt.requestGate !== undefined) await opt.requestGate(context);
    if (timeout.error) throw timeout.error;
    const input = serialization.getI(req.binary).parse(await req.body(opt.readMaxBytes));
    const output = await invokeUnaryImplementation(spec, context, input, opt.interceptors);
    body = serialization.getO(req.binary).serialize(output);
  } catch (e) {
    context.end(e);
    const error =
      e instanceof ConnectError ? e : new ConnectError("internal error", Code.Internal, undefined, undefined, e);
    failure = error;
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
  return { status, header, body, error: failure };
}

/** An error answer, for a request refused before any handler saw it (its deadline passed, say). */
export function errorAnswer(error: ConnectError, opt: UnaryOptions): UnaryAnswer {
  return {
    status: codeToHttpStatus(error.code),
    header: new Headers({ [headerContentType]: contentTypeUnaryJson }),
    body: errorToJsonBytes(error, opt.jsonOptions),
    error,
  };
}

/**
 * The body bytes as received, when they fit readMaxBytes (and match the declared length, if any);
 * anything else goes through connect-es's readAllBytes for its exact errors.
 */
export function boundedBody(bytes: Uint8Array, readMaxBytes: number, declared: string | null): Promise<Uint8Array> {
  const hint = declared === null ? bytes.byteLength : Number(declared);
  if (bytes.byteLength === hint && hint <= readMaxBytes) return Promise.resolve(bytes);
  return readAllBytes(createAsyncIterable([bytes]), readMaxBytes, declared);
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
  req: UnaryRequest,
  timeoutMs: number | undefined,
  shutdownSignal: AbortSignal | undefined,
): HandlerContext & { end(reason: unknown): void } {
  const controller = new AbortController();
  const signal = controller.signal;
  const abort = (reason: unknown) => {
    if (!signal.aborted) controller.abort(reason);
  };
  const requestSignal = req.signal;
  const onRequestAbort = () => abort(requestSignal!.reason);
  const onShutdown = () => abort(shutdownSignal!.reason);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let deadline: number | undefined;
  if (timeoutMs !== undefined) {
    deadline = Date.now() + timeoutMs;
    const expire = () => abort(new ConnectError("the operation timed out", Code.DeadlineExceeded));
    if (timeoutMs <= 0) expire();
    else timer = setTimeout(expire, timeoutMs);
  }
  if (requestSignal?.aborted) onRequestAbort();
  else requestSignal?.addEventListener("abort", onRequestAbort);
  if (shutdownSignal?.aborted) onShutdown();
  else shutdownSignal?.addEventListener("abort", onShutdown);
  return {
    method: spec.method,
    service: spec.method.parent,
    protocolName: "connect",
    requestMethod: req.requestMethod,
    url: req.url,
    signal,
    timeoutMs: () => (deadline === undefined ? undefined : deadline - Date.now()),
    requestHeader: req.headers,
    responseHeader: new Headers({ [headerContentType]: req.binary ? contentTypeUnaryProto : contentTypeUnaryJson }),
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
