// The service's Hono app (probes, metrics, request ids) and REST error answers.
export { buildHttpApp } from "./app";
export type { KitEnv } from "./app";
export { restError, jsonBody } from "./rest-error";
export { nameRoute } from "./rest-span";
export type { Readiness } from "./probes";
