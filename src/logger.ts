import { pino, type Logger } from "pino";
import pretty from "pino-pretty";

/**
 * One logger for the process: JSON lines in production (one per request, plus audit lines for refusals),
 * readable lines in dev, written synchronously so nothing is lost when the process exits. Tokens are never
 * passed to it.
 */
export function createLogger(production: boolean): Logger {
  const options = { level: process.env.LOG_LEVEL ?? "info", base: undefined };
  if (production) return pino(options);
  return pino(options, pretty({ sync: true, singleLine: true, colorize: process.stdout.isTTY, ignore: "time" }));
}
