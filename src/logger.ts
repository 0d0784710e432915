import { pino, type DestinationStream, type Logger } from "pino";
import pretty from "pino-pretty";
import type { LogLevel } from "./config.js";

/** Bytes of production log lines gathered before they are written (one write for many lines). */
export const LOG_BUFFER_BYTES = 4096;
/** The longest a buffered line waits before it is written, in milliseconds. */
export const LOG_FLUSH_MS = 250;

/**
 * Where production JSON lines go: a file descriptor or path (default stdout). By default buffered and written
 * asynchronously: lines are gathered up to `LOG_BUFFER_BYTES` and written in one system call (a busy server makes
 * far fewer writes than requests, and no request waits on one), at the latest `LOG_FLUSH_MS` after they were
 * logged. pino writes what is left synchronously when the process exits (shutdown's and a fatal error's
 * `process.exit`), so no line is lost there. `sync: true` writes each line at once: for a runtime that freezes the
 * process between requests (Lambda).
 *
 * @param dest file descriptor or path. Default: 1 (stdout).
 * @param sync write each line at once. Default: false.
 */
export function logDestination(dest: string | number = 1, sync = false): DestinationStream {
  if (sync) return pino.destination({ dest, sync: true });
  // sonic-boom's own periodic flush (an unref'd timer): a quiet server's lines are not held back. Buffer mode: in
  // its default (utf8) mode, sonic-boom measures the UTF-8 length of all it holds on every line it is given, the more
  // the further writes fall behind; in buffer mode it adds up lengths (measured in docs/performance.md).
  // pino.destination still flushes it synchronously at exit.
  const boom = pino.destination({
    dest,
    sync: false,
    minLength: LOG_BUFFER_BYTES,
    contentMode: "buffer",
    periodicFlush: LOG_FLUSH_MS,
  });
  // sonic-boom 4.2 types write() for utf8 mode only; in buffer mode it takes a Buffer.
  return { write: (line: string) => void boom.write(Buffer.from(line) as unknown as string) };
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
