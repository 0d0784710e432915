import type { IncomingMessage, ServerResponse } from "node:http";
import { RETRY_AFTER_SECONDS, serviceUnavailableFormatted } from "../auth/index.js";

/**
 * Load shedding for `/graphql`, after Apollo Router's traffic shaping (a concurrency limit that rejects, never
 * queues): while the replica is saturated (more requests in progress than `maxInFlight`, or more waiting for a
 * pooled connection than `maxPoolWaiting`), a new request is answered at once with the error table's 503
 * `SERVICE_UNAVAILABLE` and `Retry-After`, before its body is read, instead of joining a queue without bound.
 * Operator paths (`/healthz`, `/readyz`, `/metrics`) are never shed: they do not go through `admit`.
 *
 * Hand-written because it is a counter and two comparisons: libraries that do this (`p-limit`, cockatiel's
 * bulkhead) queue or reject promises, not HTTP requests, and would still need this counting around the response.
 */

export type ShedReason = "in_flight" | "pool_waiting";

export interface LoadShedderOptions {
  /** `/graphql` requests in progress at once beyond which new ones are shed (SHED_MAX_IN_FLIGHT). */
  readonly maxInFlight: number;
  /** Requests waiting for a pooled connection beyond which new ones are shed (SHED_MAX_POOL_WAITING). */
  readonly maxPoolWaiting: number;
  /** How many requests wait for a pooled connection now (`OpenDatabase.poolStats().waiting`; PGlite: 0). */
  readonly poolWaiting: () => number;
  /** Told of every shed request (metrics). */
  readonly onShed?: (reason: ShedReason) => void;
}

export interface LoadShedder {
  /**
   * Takes a slot for this request until its response closes, or answers it 503 itself when the replica is
   * saturated. Answers whether the request was admitted.
   */
  readonly admit: (req: IncomingMessage, res: ServerResponse) => boolean;
  /** Why a new request would be shed now, or `null` (`/readyz`). */
  readonly saturation: () => ShedReason | null;
  /** Requests in progress now. */
  readonly inFlight: () => number;
}

export function createLoadShedder(options: LoadShedderOptions): LoadShedder {
  let inFlight = 0;
  const saturation = (): ShedReason | null =>
    inFlight >= options.maxInFlight ? "in_flight" : options.poolWaiting() > options.maxPoolWaiting ? "pool_waiting" : null;
  return {
    admit(_req, res) {
      const reason = saturation();
      if (reason !== null) {
        options.onShed?.(reason);
        // The request's body is not read; the connection is closed after the answer so it is not left half-read.
        res.writeHead(503, {
          "content-type": "application/json; charset=utf-8",
          "retry-after": String(RETRY_AFTER_SECONDS),
          connection: "close",
        });
        res.end(JSON.stringify({ errors: [serviceUnavailableFormatted()] }));
        return false;
      }
      inFlight++;
      res.once("close", () => inFlight--);
      return true;
    },
    saturation,
    inFlight: () => inFlight,
  };
}
