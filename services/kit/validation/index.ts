// Validation: the `buf.validate` rules written in the protos, evaluated by protovalidate, in the
// platform's words. The RPC side applies them to every request (rpc/validate-interceptor.ts); the
// gateway and event consumers call them directly.
export { ruleViolations, rulesProblem, violationsMessage } from "./message-rules";
export type { FieldViolation } from "./message-rules";
