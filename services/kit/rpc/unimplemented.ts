import { Code } from "@connectrpc/connect";

/**
 * The answer for a path no handler serves, in the protocol the caller speaks: gRPC and gRPC-Web get a
 * trailers-only response with grpc-status 12, everyone else a Connect error (404, code unimplemented).
 */
export function unimplementedResponse(
  path: string,
  contentType: string | null,
): {
  status: number;
  headers: Record<string, string>;
  body: string;
} {
  const message = `${path.replace(/^\//, "")} is not a method of this server`;
  if (contentType?.startsWith("application/grpc")) {
    return {
      status: 200,
      headers: {
        "content-type": contentType,
        "grpc-status": String(Code.Unimplemented),
        "grpc-message": grpcMessage(message),
      },
      body: "",
    };
  }
  return {
    status: 404,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ code: "unimplemented", message }),
  };
}

/** grpc-message is percent-encoded, but only outside printable ASCII (and "%" itself), as the gRPC spec says. */
const grpcMessage = (message: string) => message.replace(/[^\x20-\x24\x26-\x7e]/gu, (c) => encodeURIComponent(c));
