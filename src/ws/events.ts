import { execute, type ExecutionArgs, type ExecutionResult, type GraphQLError } from "graphql";
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import type { Principal, RequestAuth } from "../auth/index.js";
import type { AppContext } from "../graphql/context.js";
import type { SubscriptionSettle } from "../graphql/decision-records.js";
import { sharingKeyOf, type SharedExecution } from "../graphql/subscription-sharing.js";
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
  /**
   * Shares one execution of an event among its subscribers with the same sharing key (`createSharedExecution`);
   * absent: every subscriber executes each event itself.
   */
  readonly sharedExecution?: SharedExecution<EventExecution>;
}

/**
 * A subscription's results: each source event executed with a context of its own (or the result of a subscriber
 * with the same sharing key, see `createSharedExecution`), delivered only without errors, so an event the rules
 * refuse this subscriber is never sent, not even as an error. `return()` stops the source at once (a waiting
 * `next()` ends).
 */
export function eventResults(
  delivery: EventDelivery,
  source: AsyncIterableIterator<unknown>,
  args: ExecutionArgs,
  connection: Connection,
  settle?: SubscriptionSettle,
): AsyncGenerator<ExecutionResult> {
  return new EventResults(delivery, source, args, connection, settle);
}

/** One execution of an event: its request id, its result and auth state (none when it threw; logged then). */
export interface EventExecution {
  readonly requestId: string;
  readonly result?: ExecutionResult;
  /** What the rules decided in this execution; the same for every subscriber sharing it (see subscription-sharing.ts). */
  readonly auth?: RequestAuth;
}

const UNSET = Symbol("unset");

/** The generator `eventResults` returns; a class (not closures) because every idle subscriber holds one. */
class EventResults implements AsyncGenerator<ExecutionResult> {
  private finished = false;
  /** The principal `key` was computed for (a refreshed token brings another). */
  private keyOwner: Principal | null | typeof UNSET = UNSET;
  private key: string | undefined;

  constructor(
    private readonly delivery: EventDelivery,
    private readonly source: AsyncIterableIterator<unknown>,
    private readonly args: ExecutionArgs,
    private readonly connection: Connection,
    /** The subscription's decision records and shadow-denial counts, settled for this subscriber on each execution. */
    private readonly settle?: SubscriptionSettle,
  ) {
    delivery.metrics?.wsSubscriptions.inc();
  }

  async next(): Promise<IteratorResult<ExecutionResult>> {
    const { delivery, connection } = this;
    while (!this.finished) {
      const event = await this.source.next();
      if (event.done || this.finished) break;
      if (delivery.closeIfLapsed(connection)) break;
      const { requestId, result, auth } = await this.execution(event.value);
      // Per subscriber, also when the execution was shared: the records name this subscriber, the decisions are the
      // execution's (a sharing key is the same only where every decision, shadow rules' included, is the same).
      if (auth) this.settle?.(auth, requestId, connection.principal);
      if (this.finished) break;
      if (!result) {
        delivery.metrics?.wsEvents.inc({ outcome: "failed" });
        continue;
      }
      if (!result.errors || result.errors.length === 0) {
        delivery.metrics?.wsEvents.inc({ outcome: "delivered" });
        return { value: result, done: false };
      }
      withhold(delivery, result.errors, requestId, connection, this.args.operationName ?? undefined);
    }
    await this.finish();
    return { value: undefined, done: true };
  }

  async return(): Promise<IteratorResult<ExecutionResult>> {
    await this.finish();
    return { value: undefined, done: true };
  }

  async throw(error: unknown): Promise<IteratorResult<ExecutionResult>> {
    await this.finish();
    throw error;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.finish();
  }

  private async finish(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    this.delivery.metrics?.wsSubscriptions.dec();
    await this.source.return?.();
  }

  /** This subscriber's execution of `event`: shared with the subscribers of the same key when sharing is on. */
  private execution(event: unknown): Promise<EventExecution> {
    const run = () => executeEvent(this.delivery, this.args, this.connection, event);
    const shared = this.delivery.sharedExecution;
    if (!shared) return run();
    const principal = this.connection.principal;
    if (this.keyOwner !== principal) {
      this.keyOwner = principal;
      this.key = sharingKeyOf(this.args, principal);
    }
    return shared(event, this.key, run);
  }
}

async function executeEvent(delivery: EventDelivery, args: ExecutionArgs, connection: Connection, event: unknown): Promise<EventExecution> {
  const requestId = randomUUID();
  try {
    const contextValue = delivery.contextFor(connection, requestId, event);
    return { requestId, result: await execute({ ...args, rootValue: event, contextValue }), auth: contextValue.auth };
  } catch (error) {
    delivery.logger?.error(
      { requestId, connectionId: connection.id, operation: args.operationName ?? undefined, err: error },
      "unexpected error while executing a subscription event",
    );
    return { requestId };
  }
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
