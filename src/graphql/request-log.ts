import type { Logger } from "pino";
import type { Metrics } from "../metrics.js";
import type { AppContext } from "./context.js";
import { requestLineRecord } from "./decision-records.js";

/** The path GraphQL is served on, over HTTP and WebSocket. */
export const GRAPHQL_PATH = "/graphql";

/** One answered request, for the request log and metrics. */
export interface Exchange<TContext> {
  /** Present on `/graphql` (echoed as `x-request-id`). */
  readonly requestId: string | undefined;
  readonly method: string;
  /** The URL path, without the query string. */
  readonly path: string;
  /** The operation name the client sent, or else the one its document names; `undefined` off `/graphql`. */
  readonly operationName: string | undefined;
  readonly status: number;
  readonly durationMs: number;
  /** Absent when the request failed before its context was built (e.g. a refused token). */
  readonly context: TContext | undefined;
}

const OPERATOR_PATHS = new Set(["/healthz", "/readyz", "/metrics"]);

/**
 * The request log and request metrics: one line per answered request (pino-http's shape: id, method, path,
 * status, time and the caller), never a token. A request's decision record (`AUTH_AUDIT`) rides in its line as `audit`. Probes and scrapes are logged at debug.
 */
export function createRequestLog(logger: Logger | undefined, metrics: Metrics | undefined): (exchange: Exchange<AppContext>) => void {
  return (exchange) => {
    const durationMs = Math.round(exchange.durationMs * 10) / 10;
    if (exchange.path !== GRAPHQL_PATH) {
      // Probes and scrapes come every few seconds: at debug so they do not drown the request log.
      const level = OPERATOR_PATHS.has(exchange.path) ? "debug" : "info";
      logger?.[level]({ method: exchange.method, path: exchange.path, status: exchange.status, durationMs }, "request");
      return;
    }
    const principal = exchange.context?.principal;
    if (metrics) {
      const operation = metrics.operationLabel(exchange.operationName);
      metrics.countRequest(operation, exchange.status);
      metrics.duration.observe({ operation }, exchange.durationMs / 1000);
    }
    logger?.info(
      {
        requestId: exchange.requestId,
        method: exchange.method,
        path: exchange.path,
        operation: exchange.operationName,
        sub: principal?.sub,
        kind: principal?.kind ?? (exchange.context ? "ANONYMOUS" : undefined),
        status: exchange.status,
        durationMs,
        // The request's decision record, when AUTH_AUDIT asks for one: one line per request either way.
        audit: exchange.context ? requestLineRecord(exchange.context.auth) : undefined,
      },
      "request",
    );
  };
}
