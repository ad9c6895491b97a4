import type { ConnectRouter, ConnectRouterOptions } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  contentTypeUnaryJson,
  contentTypeUnaryProto,
  headerContentType,
  headerTimeout,
  headerUnaryEncoding,
} from "@connectrpc/connect/protocol-connect";
import type { ServiceMsg } from "@nats-io/services";
import type { NatsConnection } from "@nats-io/transport-node";
import { REQUEST_ID_HEADER } from "../log-interceptor";
import { CallMemory } from "../call-memory";
import type { Logger } from "../../log";
import {
  answerUnary,
  boundedBody,
  errorAnswer,
  unaryMethods,
  type UnaryAnswer,
  type UnaryMethod,
  type UnaryOptions,
} from "../unary-answer";
import { fromNatsHeaders, STATUS_HEADER, toNatsHeaders } from "./message-headers";
import { callOfReply } from "./nats-unary-call";
import { RecentReplies } from "./recent-replies";
import { rpcSubject } from "./subjects";

/** What $SRV.STATS reports for one endpoint: counted when the answer went out, not when the callback returned. */
export class EndpointFigures {
  requests = 0;
  errors = 0;
  /** Nanoseconds from receipt to answer, summed. */
  processingNs = 0;
  lastError = "";

  record(startedMs: number, error?: ConnectError): void {
    this.requests++;
    this.processingNs += Math.round((performance.now() - startedMs) * 1e6);
    if (error) {
      this.errors++;
      this.lastError = `${Code[error.code]}: ${error.rawMessage}`;
    }
  }
}

/** One subject this instance answers on, as an endpoint of its services-API registration. */
export interface RpcEndpoint {
  name: string;
  subject: string;
  queue: string;
  handler: (err: Error | null, msg: ServiceMsg) => void;
  figures: EndpointFigures;
}

export interface RpcOnNats {
  /** Two per unary method: the service's queue-group subject and this instance's own. */
  endpoints(instanceId: string): RpcEndpoint[];
  /** Calls accepted and not yet answered. */
  readonly inFlight: number;
  /** Resolves once every accepted call was answered, or after `timeoutMs`. */
  idle(timeoutMs: number): Promise<void>;
}

/**
 * Serves a service's unary Connect methods on NATS request-reply: the same routes and router options
 * (interceptors, size limit) as its HTTP ports, through the same protocol core (unary-answer.ts). One
 * subscription per subject, answered from a callback. A request whose deadline already passed is not
 * served; an answer larger than the server's max_payload goes out as RESOURCE_EXHAUSTED naming the limit.
 * Streams stay on HTTP/2.
 */
export function serveRpcOnNats(opts: {
  namespace: string;
  service: string;
  routes: (router: ConnectRouter) => void;
  options: ConnectRouterOptions;
  nc: NatsConnection;
  /** Shared with the HTTP port: a call that comes both ways is answered once. */
  memory: CallMemory;
  log: Logger;
}): RpcOnNats {
  const { methods, opt } = unaryMethods(opts.routes, opts.options);
  const { nc, log } = opts;
  // Replies lost with a server that died are sent again once the connection is back.
  const recent = new RecentReplies(nc);
  let inFlight = 0;
  let whenIdle: (() => void) | undefined;
  const handlerOf = (method: UnaryMethod, figures: EndpointFigures) => (err: Error | null, msg: ServiceMsg) => {
    const replyTo = msg.reply;
    if (err || !replyTo) return; // nobody to answer
    const started = performance.now();
    inFlight++;
    const headers = fromNatsHeaders(msg.headers);
    // A kit caller's reply subject names the call and carries its timeout (nats-unary-call.ts).
    const call = callOfReply(replyTo);
    if (call?.timeoutMs !== undefined && !headers.has(headerTimeout))
      headers.set(headerTimeout, String(call.timeoutMs));
    // And its trace context, when traced (the trace interceptor reads it from the headers).
    if (call?.traceparent !== undefined && !headers.has("traceparent")) headers.set("traceparent", call.traceparent);
    const key = call?.remember ? CallMemory.keyOf(headers, call.callId) : undefined;
    (key ? opts.memory.answer(key, () => answer(method, opt, msg, headers)).answer : answer(method, opt, msg, headers))
      .then((a) => {
        figures.record(started, a.error);
        // The server's max_payload, read when answering (it may change with the server).
        const reply = fitting(a, opt, nc.info?.max_payload);
        try {
          const replyHeaders = answerHeaders(reply, headers);
          nc.publish(replyTo, reply.body, { headers: replyHeaders });
          recent.sent(replyTo, reply.body, replyHeaders);
        } catch (e) {
          // The connection is gone: the caller sees its own connection error or timeout.
          log.debug({ err: e, subject: msg.subject }, "could not send a reply over NATS");
        }
      })
      .catch((e) => opts.log.error({ err: e, subject: msg.subject }, "answering a call over NATS failed"))
      .finally(() => {
        if (--inFlight === 0) whenIdle?.();
      });
  };
  return {
    endpoints(instanceId) {
      const queue = `${opts.service}-rpc`;
      return [...methods].flatMap(([path, method]) => {
        const name = path.slice(1).replaceAll(".", "_").replace("/", "-");
        return [
          { name, subject: rpcSubject(opts.namespace, opts.service, path), queue },
          { name: `${name}-instance`, subject: rpcSubject(opts.namespace, opts.service, path, instanceId), queue },
        ].map((e) => {
          const figures = new EndpointFigures();
          return { ...e, figures, handler: handlerOf(method, figures) };
        });
      });
    },
    get inFlight() {
      return inFlight;
    },
    idle(timeoutMs) {
      if (inFlight === 0) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        whenIdle = () => (clearTimeout(timer), resolve());
      });
    },
  };
}

async function answer(method: UnaryMethod, opt: UnaryOptions, msg: ServiceMsg, headers: Headers): Promise<UnaryAnswer> {
  const contentType = headers.get(headerContentType) ?? contentTypeUnaryProto;
  if (contentType !== contentTypeUnaryProto && contentType !== contentTypeUnaryJson)
    return errorAnswer(
      new ConnectError(
        `unsupported content type ${contentType}: use ${contentTypeUnaryProto} or ${contentTypeUnaryJson}`,
        Code.InvalidArgument,
      ),
      opt,
    );
  if (headers.has(headerUnaryEncoding))
    return errorAnswer(new ConnectError("compressed requests are not taken over NATS", Code.Unimplemented), opt);
  // Its caller no longer waits: the work would be for nothing (and might still change state).
  const timeout = headers.get(headerTimeout);
  if (timeout !== null && Number(timeout) <= 0)
    return errorAnswer(new ConnectError("the deadline passed before the call was served", Code.DeadlineExceeded), opt);
  const data = msg.data;
  return answerUnary(method, opt, {
    url: `nats:${msg.subject}`,
    requestMethod: "POST",
    headers,
    body: (max) => boundedBody(data, max, null),
    binary: contentType === contentTypeUnaryProto,
  });
}

/** Roughly what NATS adds around the body in headers (the limit counts both). */
const HEADER_ALLOWANCE = 512;

/** The answer, or RESOURCE_EXHAUSTED naming the limit when it would not fit in one NATS message. */
function fitting(a: UnaryAnswer, opt: UnaryOptions, maxPayload: number | undefined): UnaryAnswer {
  if (maxPayload === undefined || a.body.byteLength + HEADER_ALLOWANCE <= maxPayload) return a;
  return errorAnswer(
    new ConnectError(
      `reply of ${a.body.byteLength} bytes is larger than NATS max_payload (${maxPayload} bytes)`,
      Code.ResourceExhausted,
    ),
    opt,
  );
}

/** What the answer says beyond its body: nothing for an ordinary success (binary, 200, no metadata). */
function answerHeaders(a: UnaryAnswer, request: Headers) {
  const entries: [string, string][] = [];
  // The request id the log interceptor made up for a caller that sent none goes back with errors only
  // (in their metadata): echoed on every success it would give every answer a header to write and parse.
  const madeUpId = a.status === 200 && !request.has(REQUEST_ID_HEADER);
  a.header.forEach((v, k) => {
    if ((k !== "content-type" || v !== contentTypeUnaryProto) && !(madeUpId && k === REQUEST_ID_HEADER))
      entries.push([k, v]);
  });
  if (a.status !== 200) entries.push([STATUS_HEADER, String(a.status)]);
  return toNatsHeaders(entries);
}
