import { nameRoute } from "../../kit/http";
import {
  toJson,
  type DescMessage,
  type DescMethodUnary,
  type Message,
  type MessageInitShape,
  type MessageShape,
} from "@bufbuild/protobuf";
import { Code, ConnectError, type Transport } from "@connectrpc/connect";
import type { MiddlewareHandler } from "hono";
import type { Counter } from "prom-client";
import type { Logger } from "../../kit";
import { ruleViolations, violationsMessage } from "../../kit/validation";
import { decideAccess } from "../domain/caller";
import type { BackendCall } from "../domain/exposed-methods";
import { accessRefused, apiError, errorResponse, httpStatusOf } from "../http/api-error";
import type { GatewayEnv } from "../http/gateway-env";
import type { HttpRoute, RouteTable } from "./http-routes";
import { RequestProblem, requestMessage } from "./request-message";

export interface TranscoderDeps {
  routes: RouteTable;
  /** A Connect transport to a backend service by name. */
  transportFor(service: string): Transport;
  /** How long one backend call may take; the gateway answers 504 after that. */
  upstreamTimeoutMs: number;
  log: Logger;
  /** Counts answers by RPC and HTTP status. */
  requests?: Counter<"rpc" | "status">;
}

/**
 * REST/JSON in front of Connect: finds the route of the request among the annotated methods, checks
 * the caller may call it, builds the request message from path, query and body, checks it against its
 * protos' `buf.validate` rules (the backend's own, so a bad request is refused here, with the same
 * message, and the service is not called), calls the backend over Connect (binary) and answers the
 * response as proto3 JSON. Requests no route matches fall
 * through to the next handler.
 */
export function transcoder(deps: TranscoderDeps): MiddlewareHandler<GatewayEnv> {
  return async (c, next) => {
    const url = new URL(c.req.url);
    const found = deps.routes.match(c.req.method, url.pathname);
    if (found.kind === "none") return next();
    if (found.kind === "method-not-allowed")
      return apiError(Code.Unimplemented, `${c.req.method} is not supported on ${url.pathname}`, {
        httpStatus: 405,
        headers: { allow: found.allowed.join(", ") },
      });

    const { route, bindings } = found;
    nameRoute(c.req.raw, route.template.source);
    const rpc = `${route.exposed.method.parent.typeName}/${route.exposed.method.name}`;
    const answer = (res: Response) => {
      deps.requests?.inc({ rpc, status: String(res.status) });
      return res;
    };

    const caller = c.get("caller");
    const access = decideAccess(caller, route.exposed.access);
    if (!access.allowed)
      return answer(
        accessRefused(
          access,
          access.code === "unauthenticated" ? { headers: { "www-authenticate": 'Bearer realm="shop"' } } : {},
        ),
      );

    try {
      const body = route.body ? await c.req.text() : "";
      const request = requestMessage(
        { input: route.exposed.method.input, body: route.body },
        { bindings, query: url.searchParams, body },
      );
      const call = backendCall(deps, route, c.req.raw.signal, c.get("requestId"));
      // Admins act on anything; a customer's calls are narrowed to their own data.
      const customerId = caller.kind === "customer" ? caller.customerId : undefined;
      const scope = customerId !== undefined ? route.exposed.customerScope : undefined;
      await scope?.before?.(customerId!, request, call);
      // After the scope filled in what a customer may leave out (their own customer id).
      const broken = ruleViolations(route.exposed.method.input, request);
      if (broken.length) return answer(apiError(Code.InvalidArgument, violationsMessage(broken)));
      const response = await call(route.exposed.method, request as MessageInitShape<DescMessage>);
      scope?.after?.(customerId!, request, response);
      return answer(c.json(responseJson(route, response)));
    } catch (e) {
      if (e instanceof RequestProblem) return answer(apiError(Code.InvalidArgument, e.message));
      // A backend that is down or slow is worth a line; the client's own mistakes are not.
      if (e instanceof ConnectError && httpStatusOf(e.code) >= 503)
        deps.log.warn({ rpc, code: Code[e.code], err: e.rawMessage }, "backend call failed");
      return answer(errorResponse(c, e, deps.log));
    }
  };
}

/** Calls go to the service the method's package names, with a deadline, cancelled if the client leaves. */
function backendCall(
  deps: TranscoderDeps,
  route: HttpRoute,
  signal: AbortSignal,
  requestId: string | undefined,
): BackendCall {
  return async <I extends DescMessage, O extends DescMessage>(
    method: DescMethodUnary<I, O>,
    request: MessageInitShape<I>,
  ): Promise<MessageShape<O>> => {
    const transport = deps.transportFor(route.backend);
    const headers = requestId ? { "x-request-id": requestId } : undefined;
    const res = await transport.unary(method, signal, deps.upstreamTimeoutMs, headers, request);
    return res.message;
  };
}

/** Proto3 JSON with every field present (zeros and empty lists too), or just the response_body field. */
function responseJson(route: HttpRoute, response: Message) {
  const json = toJson(route.exposed.method.output, response, { alwaysEmitImplicit: true }) as Record<string, unknown>;
  if (!route.responseBody) return json;
  const field = route.exposed.method.output.fields.find((f) => f.name === route.responseBody)!;
  return json[field.jsonName] ?? null;
}
