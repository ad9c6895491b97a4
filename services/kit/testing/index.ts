// Test helpers only (never imported by production code): real NATS and Postgres for tests, a schema or
// database per test file, service processes, event streams under a test prefix.
export { startServiceProcess, waitFor, dropEventStreams } from "./service-process";
export type { ServiceProcess } from "./service-process";
export { testSchemas, TEST_DATABASE_URL } from "./test-database";
export type { TestSchemas } from "./test-database";
export { serviceDatabases, serviceDatabasesOfFile } from "./service-databases";
export type { ServiceDatabases, Driver } from "./service-databases";
export { startTestNatsServer, testNatsServerOfFile } from "./test-nats-server";
export type { TestNatsServer } from "./test-nats-server";
export { startTestPostgres } from "./test-postgres";
export type { TestPostgres } from "./test-postgres";
export { testEventStreams } from "./test-streams";
export type { TestEventStreams } from "./test-streams";
export { freePort } from "./free-port";
export { runToExit } from "./run-to-exit";
export { decodeStoredEvent } from "./decode-stored-event";
export type { CommandRun } from "./run-to-exit";
export { startOtlpReceiver } from "./otlp-receiver";
export type { OtlpReceiver } from "./otlp-receiver";
export type { ReceivedSpan } from "../tracing/otlp-spans";
export { startTestNatsCluster, CLUSTER_CONF } from "./test-nats-cluster";
export type { TestNatsCluster, TestNatsNode } from "./test-nats-cluster";
