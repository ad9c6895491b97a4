// RPC: Connect/gRPC/gRPC-Web served on Hono and node:http2, and clients for the other services by name.
export { createServiceClients, targetOf } from "./service-client";
export type { ServiceClients, RestClient, RestInit, Fallbacks, AttemptTimeouts } from "./service-client";
export { callConnectUnary } from "./connect-unary-call";
export { rpcNotFound } from "./connect-on-hono";
export { REQUEST_ID_HEADER } from "./log-interceptor";
export { validateInterceptor } from "./validate-interceptor";
export { NatsUnaryCalls } from "./nats/nats-unary-call";
export { rpcSubject } from "./nats/subjects";
export type { RpcTransport } from "./service-client";
