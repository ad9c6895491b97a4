import http2 from "node:http2";

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  trailers: Record<string, string>;
  body: Buffer;
}

/** One raw HTTP/2 request, so tests can send what no well-behaved client would (broken frames, wrong types). */
export function http2Call(
  origin: string,
  path: string,
  {
    headers = {},
    body = Buffer.alloc(0),
    timeoutMs = 5000,
  }: { headers?: Record<string, string>; body?: Uint8Array; timeoutMs?: number } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(origin);
    const timer = setTimeout(() => {
      session.destroy();
      reject(new Error(`no complete answer from ${origin}${path} within ${timeoutMs} ms`));
    }, timeoutMs);
    session.on("error", reject);
    const req = session.request({ ":method": "POST", ":path": path, ...headers });
    const chunks: Buffer[] = [];
    const res: RawResponse = { status: 0, headers: {}, trailers: {}, body: Buffer.alloc(0) };
    req.on("response", (h) => {
      res.status = Number(h[":status"]);
      for (const [k, v] of Object.entries(h)) if (!k.startsWith(":")) res.headers[k] = String(v);
    });
    req.on("trailers", (t) => {
      for (const [k, v] of Object.entries(t)) res.trailers[k] = String(v);
    });
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      clearTimeout(timer);
      res.body = Buffer.concat(chunks);
      session.close();
      resolve(res);
    });
    req.on("error", (e) => {
      clearTimeout(timer);
      session.destroy();
      reject(e);
    });
    req.end(Buffer.from(body));
  });
}

/** A gRPC length-prefixed message frame. */
export function grpcFrame(payload: Uint8Array, flags = 0): Buffer {
  const frame = Buffer.alloc(5 + payload.length);
  frame.writeUInt8(flags, 0);
  frame.writeUInt32BE(payload.length, 1);
  Buffer.from(payload).copy(frame, 5);
  return frame;
}

/** grpc-status/grpc-message, whether sent as trailers or trailers-only headers. */
export function grpcStatus(res: RawResponse): { code: number; message: string } {
  const src = res.trailers["grpc-status"] !== undefined ? res.trailers : res.headers;
  return { code: Number(src["grpc-status"]), message: decodeURIComponent(src["grpc-message"] ?? "") };
}
