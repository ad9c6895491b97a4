import {
  create,
  isMessage,
  type DescMessage,
  type DescMethodUnary,
  type JsonValue,
  type MessageInitShape,
} from "@bufbuild/protobuf";
import { appendHeaders, Code, ConnectError, type UnaryResponse } from "@connectrpc/connect";
import { createClientMethodSerializers } from "@connectrpc/connect/protocol";
import { errorFromJson, trailerDemux, validateResponse } from "@connectrpc/connect/protocol-connect";
import { CALL_ID_HEADER } from "../call-memory";
import { unaryResponse } from "../connect-unary-call";
import { createInbox, type Msg, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import { fromNatsHeaders, headerEntries, STATUS_HEADER, toNatsHeaders } from "./message-headers";

/** A request nobody subscribes to: the server says so at once (the cause's code marks it as never sent). */
const NO_RESPONDERS = Object.assign(new Error("no responders"), { code: "NO_RESPONDERS" });
/** This process's connection dropped while a reply was awaited: the request may have been served. */
const CONNECTION_LOST = Object.assign(new Error("NATS connection lost while waiting for the reply"), {
  code: "ConnectionClosed",
});

interface Pending {
  resolve(outcome: Msg | Failover): void;
  reject(e: unknown): void;
  /** Epoch ms after which nobody waits (the sweep ends it). */
  until: number;
  /** The attempt's: aborted, the call is dropped at the next sweep (the attempt stopped waiting already). */
  signal: AbortSignal;
  /** The same call another way, for when the bus drops before the reply came. */
  failover?: (callHeader: Record<string, string>, timeoutMs: number) => Promise<UnaryResponse>;
  callId: string;
  remember: boolean;
  subject: string;
}

/** A call answered another way (its failover) after the bus dropped. */
class Failover {
  constructor(readonly response: Promise<UnaryResponse>) {}
}

const serializersOf = new WeakMap<object, unknown>();

/**
 * Connect unary calls over NATS request-reply, binary protobuf. One subscription per connection takes
 * every reply (`<inbox>.<n>.<t|r><timeout>`, a callback, no iterator), a map finds the call a reply
 * belongs to, and one timer sweeps out the calls whose time is up: no subscription, timer or inbox per
 * call. The request carries the caller's headers as NATS headers (none, for most calls) and its timeout
 * in its reply subject; the reply carries Connect's status, headers, trailers and error JSON, read with
 * connect-es's own functions, so errors, details and metadata arrive as over HTTP.
 */
export class NatsUnaryCalls {
  readonly #nc: NatsConnection;
  readonly #inbox: string;
  readonly #pending = new Map<number, Pending>();
  readonly #sub: Subscription;
  readonly #sweep: ReturnType<typeof setInterval>;
  #next = 0;
  #closed = false;

  constructor(nc: NatsConnection, opts: { inboxPrefix?: string; sweepMs?: number } = {}) {
    this.#nc = nc;
    this.#inbox = createInbox(opts.inboxPrefix);
    this.#sub = nc.subscribe(`${this.#inbox}.*.*`, {
      callback: (err, msg) => {
        if (!err) this.#reply(msg);
      },
    });
    this.#sweep = setInterval(() => this.#expire(), opts.sweepMs ?? 100);
    this.#sweep.unref?.();
    // A subject this identity may not publish to: the server says so on the connection, not in a reply.
    (async () => {
      for await (const s of nc.status()) {
        if (this.#closed) break;
        if (s.type === "error" && s.error instanceof Error && s.error.name === "PermissionViolationError") {
          const { operation, subject } = s.error as Error & { operation?: string; subject?: string };
          if (operation === "publish" && subject) this.#refused(subject, s.error.message);
        }
      }
    })().catch(() => {});
  }

  /** Calls in flight. */
  get pending(): number {
    return this.#pending.size;
  }

  /**
   * One call to `subject`. `signal` is the attempt's, which stops waiting at once when it aborts
   * (attempt.ts); the call is then dropped at the next sweep, and its reply, if one comes, with it: an
   * abort listener per call was a twentieth of the client's time.
   * `timeoutMs` goes out in the reply subject (the callee's deadline), and the wait ends a little after
   * it. With a `failover` (the same instance over HTTP), a call still waiting when the bus drops is sent
   * again that way; one that may not be repeated (`remember`) goes under its name (CALL_ID_HEADER), and
   * the instance answers it once (rpc/call-memory.ts), whether the first copy reached it or not.
   */
  async call<I extends DescMessage, O extends DescMessage>(
    method: DescMethodUnary<I, O>,
    call: {
      subject: string;
      signal: AbortSignal;
      timeoutMs: number | undefined;
      header: ConstructorParameters<typeof Headers>[0] | undefined;
      input: MessageInitShape<I>;
      /** The same call another way (the instance over HTTP), for when the bus drops before the reply came. */
      failover?: (callHeader: Record<string, string>, timeoutMs: number) => Promise<UnaryResponse<I, O>>;
      /** The call may not be repeated: the instance keeps its answer for a second arrival (call-memory.ts). */
      remember?: boolean;
      /** A W3C traceparent (version 00) to send in the reply subject instead of a header. */
      traceparent?: string;
    },
  ): Promise<UnaryResponse<I, O>> {
    const { subject, signal, timeoutMs, header, input, failover } = call;
    if (signal.aborted) throw ConnectError.from(signal.reason, Code.Canceled);
    let serializers = serializersOf.get(method) as ReturnType<typeof createClientMethodSerializers<I, O>> | undefined;
    if (!serializers) serializersOf.set(method, (serializers = createClientMethodSerializers(method, true)));
    const request = isMessage(input, method.input) ? input : create(method.input, input);
    const body = serializers.serialize(request);
    const id = this.#next++;
    // The call's name is its reply subject, unique to this connection's inbox; its timeout rides there
    // too, so the common call carries no NATS header (their encoding and parsing were half its cost).
    const callId = `${this.#inbox}.${id}`;
    const reply = `${callId}.${replyToken(timeoutMs, call.remember, call.traceparent)}`;
    const headers = toNatsHeaders(headerEntries(header));
    const limit = this.#nc.info?.max_payload;
    if (limit !== undefined && body.byteLength > limit)
      throw new ConnectError(
        `request of ${body.byteLength} bytes is larger than NATS max_payload (${limit} bytes)`,
        Code.ResourceExhausted,
      );
    const outcome = await new Promise<Msg | Failover>((resolve, reject) => {
      const entry: Pending = {
        resolve,
        reject,
        // A call without a timeout is still not waited for forever.
        until: Date.now() + (timeoutMs ?? 60_000) + 1000,
        signal,
        failover: failover as Pending["failover"],
        callId,
        remember: call.remember === true,
        subject,
      };
      this.#pending.set(id, entry);
      try {
        this.#nc.publish(subject, body, { reply, headers });
      } catch (e) {
        this.#pending.delete(id);
        reject(
          new ConnectError(
            `cannot send to ${subject}: ${e instanceof Error ? e.message : e}`,
            /max_payload/.test(String(e)) ? Code.ResourceExhausted : Code.Unavailable,
            undefined,
            undefined,
            e,
          ),
        );
      }
    });
    if (outcome instanceof Failover) return (await outcome.response) as UnaryResponse<I, O>;
    const replyHeaders = outcome.headers;
    // An ordinary answer carries no header: the message, and empty metadata.
    if (!replyHeaders) return unaryResponse(method, serializers.parse(outcome.data), new Headers());
    if (replyHeaders.code === 503)
      throw new ConnectError(`nothing serves ${subject}`, Code.Unavailable, undefined, undefined, NO_RESPONDERS);
    const status = Number(replyHeaders.get(STATUS_HEADER) || 200);
    const responseHeader = fromNatsHeaders(replyHeaders);
    responseHeader.delete(STATUS_HEADER);
    if (!responseHeader.has("content-type")) responseHeader.set("content-type", "application/proto");
    const { isUnaryError, unaryError } = validateResponse(method.methodKind, true, status, responseHeader);
    if (isUnaryError)
      throw errorFromJson(outcome.json<JsonValue>(), appendHeaders(...trailerDemux(responseHeader)), unaryError);
    return unaryResponse(method, serializers.parse(outcome.data), responseHeader);
  }

  /**
   * The connection dropped: replies to the calls in flight will not come (NATS does not resend them).
   * A call with a failover is sent again that way; the others fail now as connection errors, retried
   * elsewhere when the call may be repeated.
   */
  connectionLost(): void {
    this.#endAll(true);
  }

  /** No more calls: the ones in flight fail (a closing client does not send them elsewhere). */
  close(): void {
    this.#closed = true;
    clearInterval(this.#sweep);
    this.#sub.unsubscribe();
    this.#endAll(false);
  }

  #endAll(failover: boolean): void {
    const lost = [...this.#pending.values()];
    this.#pending.clear();
    const now = Date.now();
    for (const p of lost)
      // A call its attempt gave up on is not sent again.
      if (failover && p.failover && !p.signal.aborted)
        p.resolve(
          new Failover(p.failover(p.remember ? { [CALL_ID_HEADER]: p.callId } : {}, Math.max(1, p.until - 1000 - now))),
        );
      else p.reject(new ConnectError("NATS connection lost", Code.Unavailable, undefined, undefined, CONNECTION_LOST));
  }

  #reply(msg: Msg): void {
    const subject = msg.subject;
    const id = Number(subject.slice(this.#inbox.length + 1, subject.lastIndexOf(".")));
    const entry = this.#pending.get(id);
    if (!entry) return; // cancelled or swept: nobody waits
    this.#pending.delete(id);
    entry.resolve(msg);
  }

  /**
   * The calls waiting on subjects under `prefix` (an instance that is gone: killed, its connection
   * dropped) fail now as broken connections, for the caller's policies to retry elsewhere when the call
   * may be repeated, rather than waiting for their timeout.
   */
  abandon(prefix: string, why: string): void {
    for (const [id, p] of this.#pending)
      if (p.subject.startsWith(prefix)) {
        this.#pending.delete(id);
        p.reject(
          new ConnectError(
            why,
            Code.Unavailable,
            undefined,
            undefined,
            Object.assign(new Error(why), { code: "ECONNRESET" }),
          ),
        );
      }
  }

  /** Every call waiting on `subject` fails: the server refused to carry it. */
  #refused(subject: string, why: string): void {
    for (const [id, p] of this.#pending)
      if (p.subject === subject) {
        this.#pending.delete(id);
        p.reject(new ConnectError(`NATS refused the call: ${why}`, Code.PermissionDenied));
      }
  }

  #expire(): void {
    if (this.#pending.size === 0) return;
    const now = Date.now();
    for (const [id, p] of this.#pending)
      if (p.signal.aborted) {
        this.#pending.delete(id);
        p.reject(ConnectError.from(p.signal.reason, Code.Canceled));
      } else if (p.until <= now) {
        this.#pending.delete(id);
        p.reject(new ConnectError("no reply in time", Code.DeadlineExceeded));
      }
  }
}

/**
 * The last token of a call's reply subject: its timeout (`t<ms>`, `t-` for none), `r` instead of `t` when
 * the instance should keep its answer for a second arrival (the call may not be repeated), then, when the
 * call is traced, `p<trace id><span id><flags>` (a version 00 traceparent without its dashes).
 */
export function replyToken(timeoutMs: number | undefined, remember = false, traceparent?: string): string {
  const t = `${remember ? "r" : "t"}${timeoutMs === undefined ? "-" : Math.max(1, Math.ceil(timeoutMs))}`;
  const m = traceparent === undefined ? null : TRACEPARENT.exec(traceparent);
  return m ? `${t}p${m[1]}${m[2]}${m[3]}` : t;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const TOKEN = /^([tr])(-|\d{1,10})(?:p([0-9a-f]{32})([0-9a-f]{16})([0-9a-f]{2}))?$/;

/** What a reply subject says of its call (undefined for one not made by NatsUnaryCalls, e.g. `nats req`'s). */
export function callOfReply(
  reply: string,
): { callId: string; timeoutMs?: number; remember: boolean; traceparent?: string } | undefined {
  const dot = reply.lastIndexOf(".");
  if (dot < 0) return undefined;
  const m = TOKEN.exec(reply.slice(dot + 1));
  if (!m) return undefined;
  return {
    callId: reply.slice(0, dot),
    timeoutMs: m[2] === "-" ? undefined : Number(m[2]),
    remember: m[1] === "r",
    ...(m[3] ? { traceparent: `00-${m[3]}-${m[4]}-${m[5]}` } : {}),
  };
}
