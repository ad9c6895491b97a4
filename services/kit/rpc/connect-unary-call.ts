import {
  create,
  isMessage,
  type DescMessage,
  type JsonValue,
  type DescMethodUnary,
  type MessageInitShape,
  type MessageShape,
} from "@bufbuild/protobuf";
import { appendHeaders, Code, ConnectError, type UnaryResponse } from "@connectrpc/connect";
import { createClientMethodSerializers, createMethodUrl } from "@connectrpc/connect/protocol";
import { errorFromJson, requestHeader, trailerDemux, validateResponse } from "@connectrpc/connect/protocol-connect";

/** What a method's calls share, made on its first call: its serializers and its URL at each base URL it was called on. */
const perMethod = new WeakMap<object, { serializers: unknown; urls: Map<string, string> }>();

function methodOf<I extends DescMessage, O extends DescMessage>(method: DescMethodUnary<I, O>) {
  let m = perMethod.get(method);
  if (!m) perMethod.set(method, (m = { serializers: createClientMethodSerializers(method, true), urls: new Map() }));
  return m as { serializers: ReturnType<typeof createClientMethodSerializers<I, O>>; urls: Map<string, string> };
}

function urlOf(
  m: { urls: Map<string, string> },
  baseUrl: string,
  method: DescMethodUnary<DescMessage, DescMessage>,
): string {
  let url = m.urls.get(baseUrl);
  if (url === undefined) m.urls.set(baseUrl, (url = createMethodUrl(baseUrl, method)));
  return url;
}

/**
 * One Connect unary call, binary, over Bun's fetch: what connect-web's transport sends and checks
 * (its request headers, response validation, error JSON and trailer demux are connect-es's own,
 * imported), without its per-call signal plumbing. The caller (resilient-call.ts) already owns the
 * attempt's signal and time budget; connect-es would add a linked AbortController, a deadline timer and
 * an abort on completion to every call, about a sixth of a fast call's client time in the profile.
 * `signal` cancels the request; `timeoutMs` goes out as Connect-Timeout-Ms so the callee stops too.
 */
export async function callConnectUnary<I extends DescMessage, O extends DescMessage>(
  baseUrl: string,
  method: DescMethodUnary<I, O>,
  signal: AbortSignal,
  timeoutMs: number | undefined,
  header: ConstructorParameters<typeof Headers>[0] | undefined,
  input: MessageInitShape<I>,
): Promise<UnaryResponse<I, O>> {
  const m = methodOf(method);
  const serializers = m.serializers;
  const request = isMessage(input, method.input) ? input : create(method.input, input);
  let response: Response;
  try {
    response = await fetch(urlOf(m, baseUrl, method as DescMethodUnary<DescMessage, DescMessage>), {
      method: "POST",
      redirect: "error",
      headers: requestHeader(method.methodKind, true, timeoutMs, header, false),
      body: serializers.serialize(request),
      signal,
    });
  } catch (e) {
    // As connect-es reports it: the abort's reason when the signal fired (fetch drops it), else the fetch error as the cause.
    throw signal.aborted ? ConnectError.from(signal.reason, Code.Canceled) : ConnectError.from(e);
  }
  const { isUnaryError, unaryError } = validateResponse(method.methodKind, true, response.status, response.headers);
  if (isUnaryError)
    throw errorFromJson(
      (await response.json()) as JsonValue,
      appendHeaders(...trailerDemux(response.headers)),
      unaryError,
    );
  return unaryResponse(method, serializers.parse(new Uint8Array(await response.arrayBuffer())), response.headers);
}

/**
 * A unary response whose headers and trailers (trailer-* headers, Connect's unary protocol) are split
 * apart only when read: most callers read neither, and splitting costs two Headers objects and a pass
 * over the response's headers per call.
 */
export function unaryResponse<I extends DescMessage, O extends DescMessage>(
  method: DescMethodUnary<I, O>,
  message: MessageShape<O>,
  headers: Headers,
): UnaryResponse<I, O> {
  let split: [Headers, Headers] | undefined;
  return {
    stream: false,
    service: method.parent,
    method,
    message,
    get header() {
      return (split ??= trailerDemux(headers))[0];
    },
    get trailer() {
      return (split ??= trailerDemux(headers))[1];
    },
  };
}
