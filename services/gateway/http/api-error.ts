import { Code, ConnectError } from "@connectrpc/connect";
import type { Context } from "hono";
import type { Logger } from "../../kit";
import type { AccessDecision } from "../domain/caller";

/**
 * HTTP status per google.rpc.Code, as grpc-gateway maps them
 * (runtime.HTTPStatusFromCode). 499 is the nginx-style "client closed request".
 */
const HTTP_STATUS: Record<Code, number> = {
  [Code.Canceled]: 499,
  [Code.Unknown]: 500,
  [Code.InvalidArgument]: 400,
  [Code.DeadlineExceeded]: 504,
  [Code.NotFound]: 404,
  [Code.AlreadyExists]: 409,
  [Code.PermissionDenied]: 403,
  [Code.ResourceExhausted]: 429,
  [Code.FailedPrecondition]: 400,
  [Code.Aborted]: 409,
  [Code.OutOfRange]: 400,
  [Code.Unimplemented]: 501,
  [Code.Internal]: 500,
  [Code.Unavailable]: 503,
  [Code.DataLoss]: 500,
  [Code.Unauthenticated]: 401,
};

export const httpStatusOf = (code: Code): number => HTTP_STATUS[code] ?? 500;

/** google.rpc.Code's own spelling: Code.InvalidArgument → "INVALID_ARGUMENT". */
export const statusName = (code: Code): string => Code[code]!.replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();

/** The one error body of the gateway: `{ "code": 3, "status": "INVALID_ARGUMENT", "message": "..." }`. */
export interface ApiErrorBody {
  code: number;
  status: string;
  message: string;
}

export const apiErrorBody = (code: Code, message: string): ApiErrorBody => ({
  code,
  status: statusName(code),
  message,
});

/**
 * Answers an error in the gateway's shape. The HTTP status follows the code unless given (413 for a
 * body over the limit, 405 for a known path with another method).
 */
export function apiError(
  code: Code,
  message: string,
  { httpStatus, headers }: { httpStatus?: number; headers?: Record<string, string> } = {},
): Response {
  return Response.json(apiErrorBody(code, message), { status: httpStatus ?? httpStatusOf(code), headers });
}

/**
 * A refused access decision as the gateway answers it: 401 when the caller has not said who it is (or
 * not credibly), 403 when it has and may not.
 */
export function accessRefused(
  { code, message }: Extract<AccessDecision, { allowed: false }>,
  init?: { headers?: Record<string, string> },
): Response {
  return apiError(code === "unauthenticated" ? Code.Unauthenticated : Code.PermissionDenied, message, init);
}

/** Codes whose message may describe the server's insides; the client gets a generic one. */
const OPAQUE = new Set([Code.Unknown, Code.Internal, Code.DataLoss]);

/** Any failure as a gateway answer: ConnectErrors by their code, everything else as a logged 500. */
export function errorResponse(c: Context, err: unknown, log: Logger): Response {
  if (err instanceof ConnectError) {
    if (OPAQUE.has(err.code)) {
      log.error({ err, requestId: c.get("requestId"), path: c.req.path }, "backend failed");
      return apiError(err.code, `internal error (request ${c.get("requestId")})`);
    }
    return apiError(err.code, err.rawMessage);
  }
  log.error({ err, requestId: c.get("requestId"), path: c.req.path }, "unhandled error");
  return apiError(Code.Internal, `internal error (request ${c.get("requestId")})`);
}
