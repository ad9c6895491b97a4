import type { DescFile } from "@bufbuild/protobuf";
import { createConnectRouter, type ConnectRouter, type ConnectRouterOptions } from "@connectrpc/connect";
import { file_health_v1_health } from "../../contracts/gen/health/v1/health_pb";
import type { Logger } from "../log";
import type { Metrics } from "../metrics";
import { deadlineInterceptor } from "../resilience/deadline";
import { HealthStatus, healthRoutes } from "./health";
import { logInterceptor } from "./log-interceptor";
import { metricsInterceptor } from "./metrics-interceptor";
import { reflectionRoutes } from "./reflection";
import { traceInterceptor } from "./trace-interceptor";
import { validateInterceptor } from "./validate-interceptor";
import { tracing } from "../tracing";
import { callerInterceptor } from "../trust/caller-check";
import type { TokenCheck } from "../trust/identity";

/** What both listeners of a service serve over RPC, and how. */
export interface ServiceRpc {
  /** Registers the service's own RPC services, grpc.health.v1.Health and server reflection on a router. */
  routes: (router: ConnectRouter) => void;
  /** The router options every call goes through: interceptors and the message size limit. */
  options: ConnectRouterOptions;
  /** The health of each service served, for Check/Watch/List (all NOT_SERVING until the service says so). */
  health: HealthStatus;
}

/**
 * Assembles the RPC side of a service from the implementations it registers (`rpc`): health and
 * reflection over exactly the services and files it serves, and the interceptors in their order.
 */
export function serviceRpc(opts: {
  rpc?: (router: ConnectRouter) => void;
  log: Logger;
  metrics: Metrics;
  maxBodyBytes: number;
  /** Checks the caller's token (absent: calls are not checked). */
  check?: (token: string | undefined) => TokenCheck;
  /** Refuse requests that break their protos' rules (default); false only in tests of the transports. */
  validate?: boolean;
}): ServiceRpc {
  const userServices: string[] = [];
  const files = new Map<string, DescFile>([[file_health_v1_health.name, file_health_v1_health]]);
  if (opts.rpc) {
    const probe = createConnectRouter();
    opts.rpc(probe);
    for (const h of probe.handlers) {
      if (!userServices.includes(h.service.typeName)) userServices.push(h.service.typeName);
      files.set(h.service.file.name, h.service.file);
    }
  }
  const health = new HealthStatus(userServices);
  const healthAndReflection = [
    healthRoutes(health),
    reflectionRoutes([...files.values()], () => [
      ...userServices,
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
    ]),
  ];
  return {
    routes: (router) => {
      opts.rpc?.(router);
      for (const r of healthAndReflection) r(router);
    },
    options: {
      // The deadline interceptor comes first so every handler (and every outgoing call it makes) sees the caller's deadline.
      // After the log interceptor, so refused calls are logged and counted like any other answer.
      interceptors: [
        // Outermost when tracing: the call's span holds everything the call does, its logs included.
        ...(tracing.on ? [traceInterceptor()] : []),
        deadlineInterceptor(),
        logInterceptor(opts.log),
        metricsInterceptor(opts.metrics),
        ...(opts.check ? [callerInterceptor(opts.check)] : []),
        // Innermost: only a caller that may call learns what is wrong with its request, and the
        // handler sees only requests that keep their protos' rules.
        ...(opts.validate !== false ? [validateInterceptor()] : []),
      ],
      readMaxBytes: opts.maxBodyBytes,
    },
    health,
  };
}
