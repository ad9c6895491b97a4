// The kit's public surface, top level: define and run a service, its config, log, ids and jobs.
// Each area has its own index (./rpc, ./events, ./db, ...); what no index exports is internal.
export { startService, runService, serviceConfig, OPERATOR } from "./service";
export type { ServiceDefinition, ServiceContext, ServiceParts, RunningService } from "./service";
export { readConfig, ConfigError, port, integer, text, oneOf, url, secret, maskCredentials } from "./config";
export type { Env, Setting } from "./config";
export { createLogger, faultForLog } from "./log";
export type { Logger } from "./log";
export { createMetrics } from "./metrics";
export type { Metrics } from "./metrics";
export { isUuid } from "./ids";
export { textProblem } from "./text";
export { runPeriodically } from "./periodic";
export type { PeriodicJob } from "./periodic";
export { Lifecycle } from "./lifecycle";
