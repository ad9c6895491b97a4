import { trace } from "@opentelemetry/api";
import pino, { type DestinationStream, type Logger } from "pino";
import { tracing } from "./tracing/tracing";

export type { Logger };

/** Structured JSON logs on stdout (or `destination`); every line carries the service name. */
export function createLogger(
  service: string,
  level = process.env.LOG_LEVEL ?? "info",
  destination?: DestinationStream,
): Logger {
  const options = {
    level,
    base: { service, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
    serializers: { err: faultForLog },
    // Lines written inside a span name it (trace_id, span_id), so a trace and its logs find each other.
    mixin: traceFields,
  };
  return destination ? pino(options, destination) : pino(options);
}

/** Postgres' fields that name where a statement failed; `detail` and `where` are left out: they quote row values. */
const STATEMENT_FIELDS = [
  "code",
  "severity",
  "routine",
  "schema_name",
  "table_name",
  "column_name",
  "constraint_name",
] as const;

/**
 * An error as the log keeps it: type, message, stack and causes, with what could carry a customer's data
 * withheld. A failed query's text and parameters (drizzle puts both in the message), Postgres' `detail`
 * and the value it quotes after a colon ('invalid input syntax for type uuid: "…"') do not reach the log;
 * the SQLSTATE, table, column and constraint do, which is what finding the fault needs.
 */
export function faultForLog(e: unknown, depth = 0): unknown {
  if (!(e instanceof Error)) return e;
  const out: Record<string, unknown> = { type: e.name, message: withheld(e.message) };
  for (const field of STATEMENT_FIELDS) {
    const value = (e as unknown as Record<string, unknown>)[field];
    if (value !== undefined && value !== null) out[field] = value;
  }
  if (e.stack)
    out.stack = e.stack
      .split("\n")
      .filter((line) => line.startsWith("    at "))
      .join("\n");
  if (e.cause !== undefined && depth < 4) out.cause = faultForLog(e.cause, depth + 1);
  return out;
}

/** An error message with a failed query's statement and parameters, and a value Postgres quotes, withheld. */
export function withheld(message: string): string {
  if (message.startsWith("Failed query:"))
    return "Failed query (statement and parameters withheld; the cause says why)";
  return message.replace(/: "[^]*"$/, ': "…"');
}

const NO_FIELDS = {};

function traceFields(): object {
  if (!tracing.on) return NO_FIELDS;
  const sc = trace.getActiveSpan()?.spanContext();
  return sc && trace.isSpanContextValid(sc) ? { trace_id: sc.traceId, span_id: sc.spanId } : NO_FIELDS;
}
