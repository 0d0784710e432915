import { pino, type DestinationStream, type Logger } from "pino";
import pretty from "pino-pretty";
import type { LogLevel } from "./config.js";

/**
 * Where production JSON lines go: a file descriptor or path (default stdout), written asynchronously by default.
 * An asynchronous destination does not block a request on the write: lines logged while a write is in flight are
 * joined into the next one, so a busy server makes fewer system calls than requests. pino flushes it
 * synchronously when the process exits (the shutdown's and a fatal error's `process.exit`), so no line is lost
 * there. `sync: true` for a runtime that freezes the process between requests (Lambda).
 */
export function logDestination(dest: string | number = 1, sync = false): DestinationStream {
  return pino.destination({ dest, sync });
}

/**
 * One logger for the process: JSON lines in production (one per request, plus audit lines for refusals and
 * an error line for each unexpected error), readable lines with the time of day in dev (written synchronously).
 * Tokens and headers are never passed to it.
 *
 * @param production JSON lines (`NODE_ENV=production`) instead of readable ones.
 * @param level the validated `LOG_LEVEL` (`Config.logLevel`); default `info`.
 * @param destination production only: where the JSON lines go. Default: `logDestination()`, stdout, asynchronous.
 */
export function createLogger(production: boolean, level: LogLevel = "info", destination?: DestinationStream): Logger {
  const options = { level, base: undefined, serializers: { err: serializeErr } };
  if (production) return pino(options, destination ?? logDestination());
  return pino(options, pretty({ sync: true, singleLine: true, colorize: process.stdout.isTTY, translateTime: "SYS:HH:MM:ss.l" }));
}

/**
 * pino's `err` serializer, for real errors only. pino takes anything with a string `message` for an error and
 * rewrites it: a summary written as `err: { type: error.name, message }` (warnings that need no stack) was logged
 * with `type: "Object"` and an empty `stack`, losing the error's class. Such plain objects are logged as given.
 */
function serializeErr(value: unknown): unknown {
  return value instanceof Error ? pino.stdSerializers.err(value) : value;
}
