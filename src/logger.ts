import { pino, type DestinationStream, type Logger } from "pino";
import pretty from "pino-pretty";
import type { LogLevel } from "./config.js";

/**
 * One logger for the process: JSON lines in production (one per request, plus audit lines for refusals and
 * an error line for each unexpected error), readable lines with the time of day in dev, written synchronously so
 * nothing is lost when the process exits. Tokens and headers are never passed to it.
 *
 * @param production JSON lines (`NODE_ENV=production`) instead of readable ones.
 * @param level the validated `LOG_LEVEL` (`Config.logLevel`); default `info`.
 * @param destination production only: where the JSON lines go instead of stdout (the benchmark discards them).
 */
export function createLogger(production: boolean, level: LogLevel = "info", destination?: DestinationStream): Logger {
  const options = { level, base: undefined, serializers: { err: serializeErr } };
  if (production) return destination ? pino(options, destination) : pino(options);
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
