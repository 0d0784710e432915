import { pino, type Logger } from "pino";

/** One logger for the process: JSON lines; tokens are never passed to it. */
export function createLogger(production: boolean): Logger {
  return pino({ level: process.env.LOG_LEVEL ?? (production ? "info" : "debug"), base: undefined });
}
