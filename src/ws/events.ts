import { execute, type ExecutionArgs, type ExecutionResult, type GraphQLError } from "graphql";
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import type { AppContext } from "../graphql/context.js";
import type { SubscriptionSettle } from "../graphql/decision-records.js";
import { classify, isDenial } from "../graphql/outcomes.js";
import type { Metrics } from "../metrics.js";
import type { Connection } from "./connections.js";

export interface EventDelivery {
  readonly logger?: Logger;
  readonly metrics?: Metrics;
  /** A context per execution: the subscriber's principal, and the event's shared loaders (none: fresh ones). */
  readonly contextFor: (connection: Connection, requestId: string, event: unknown) => AppContext;
  /** Closes the connection when its token lapsed; true when it did (the stream then ends). */
  readonly closeIfLapsed: (connection: Connection) => boolean;
}

/**
 * A subscription's results: each source event executed with a context of its own, delivered only without
 * errors, so an event the rules refuse this subscriber is never sent, not even as an error. `return()` stops the
 * source at once (a waiting `next()` ends). `settle` (the subscription's decision records) sees each execution's auth state.
 */
export function eventResults(
  delivery: EventDelivery,
  source: AsyncIterableIterator<unknown>,
  args: ExecutionArgs,
  connection: Connection,
  settle?: SubscriptionSettle,
): AsyncGenerator<ExecutionResult> {
  const { metrics, logger } = delivery;
  metrics?.wsSubscriptions.inc();
  let finished = false;
  const finish = async () => {
    if (finished) return;
    finished = true;
    metrics?.wsSubscriptions.dec();
    await source.return?.();
  };
  const operation = args.operationName ?? undefined;
  const results: AsyncGenerator<ExecutionResult> = {
    async next(): Promise<IteratorResult<ExecutionResult>> {
      while (!finished) {
        const event = await source.next();
        if (event.done || finished) break;
        if (delivery.closeIfLapsed(connection)) break;
        const requestId = randomUUID();
        let result: ExecutionResult;
        try {
          const contextValue = delivery.contextFor(connection, requestId, event.value);
          result = await execute({ ...args, rootValue: event.value, contextValue });
          settle?.(contextValue.auth, requestId);
        } catch (error) {
          logger?.error(
            { requestId, connectionId: connection.id, operation, err: error },
            "unexpected error while executing a subscription event",
          );
          metrics?.wsEvents.inc({ outcome: "failed" });
          continue;
        }
        if (finished) break;
        if (!result.errors || result.errors.length === 0) {
          metrics?.wsEvents.inc({ outcome: "delivered" });
          return { value: result, done: false };
        }
        withhold(delivery, result.errors, requestId, connection, operation);
      }
      await finish();
      return { value: undefined, done: true };
    },
    async return(): Promise<IteratorResult<ExecutionResult>> {
      await finish();
      return { value: undefined, done: true };
    },
    async throw(error: unknown): Promise<IteratorResult<ExecutionResult>> {
      await finish();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return results;
    },
    async [Symbol.asyncDispose]() {
      await finish();
    },
  };
  return results;
}

/**
 * An event whose execution met any error is not sent. A refusal by the rules (the order is not the
 * subscriber's) is expected and logged at debug; the database being down is a warning; anything else is a bug,
 * logged at error level with an id.
 */
function withhold(
  { logger, metrics }: EventDelivery,
  errors: readonly GraphQLError[],
  requestId: string,
  connection: Connection,
  operation: string | undefined,
): void {
  const denied = errors.filter(isDenial);
  if (denied.length === errors.length) {
    metrics?.wsEvents.inc({ outcome: "withheld" });
    logger?.debug(
      {
        event: "ws.event_withheld",
        requestId,
        connectionId: connection.id,
        operation,
        sub: connection.principal?.sub,
        paths: denied.map((e) => e.path?.join(".")),
      },
      "event withheld: the subscriber may not see it",
    );
    return;
  }
  metrics?.wsEvents.inc({ outcome: "failed" });
  if (errors.some((e) => classify(e) === "unavailable")) {
    logger?.warn(
      { event: "db.unavailable", requestId, connectionId: connection.id, operation },
      "database unavailable; a subscription event was not delivered",
    );
    return;
  }
  for (const error of errors) {
    if (isDenial(error)) continue;
    logger?.error(
      { requestId, connectionId: connection.id, operation, path: error.path?.join("."), err: error.originalError ?? error },
      "unexpected error in a subscription event; not delivered",
    );
  }
}
