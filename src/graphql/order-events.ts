import type { Logger } from "pino";
import type { Db } from "../data/database.js";
import type { NotificationHub } from "../data/notifications.js";
import { startOrderEventPruner } from "../data/order-event-log.js";
import { ORDER_EVENTS_CHANNEL, parseOrderEvent, type OrderEventMessage } from "../data/order-events.js";

/** Events one subscriber may have waiting before the oldest are dropped (a client that does not read its socket). */
export const MAX_QUEUED_EVENTS = 1000;

/**
 * This replica's order events, from the database's notifications (every replica's committed changes), handed to
 * each subscription of this process. One `LISTEN` per replica, whatever the number of subscribers.
 */
export interface OrderEventFeed {
  /**
   * The events from now on that `accept` keeps (all without it), in the order the database delivered them.
   * `return()` on the iterator stops it at once, also while it waits. At most `MAX_QUEUED_EVENTS` wait per
   * subscriber; beyond that the oldest are dropped (logged as a warning).
   */
  subscribe(accept?: (event: OrderEventMessage) => boolean): EventQueue<OrderEventMessage>;
  /** How many subscriptions are open on the feed. */
  readonly size: number;
  /** The durable log behind the feed (resuming with `after`); absent in unit tests of the feed alone. */
  readonly log?: OrderEventLog;
  /** Ends every subscription and stops listening. */
  close(): void;
}

/** The durable order event log: where a subscription with `after` catches up, and how long events stay there. */
export interface OrderEventLog {
  readonly db: Db;
  /** WS_EVENT_RETENTION_SECONDS: events older than this are pruned; a cursor of a pruned event is refused. */
  readonly retentionSeconds: number;
}

/**
 * Listens on `ORDER_EVENTS_CHANNEL` through `hub` (resolves once listening) and fans each event out. Payloads that
 * are not order events are skipped with a warning. With `log`, prunes it after its retention until `close()`.
 */
export async function createOrderEventFeed(hub: NotificationHub, logger?: Logger, log?: OrderEventLog): Promise<OrderEventFeed> {
  const queues = new Set<EventQueue<OrderEventMessage>>();
  const unlisten = await hub.listen(ORDER_EVENTS_CHANNEL, (payload) => {
    const event = parseOrderEvent(payload);
    if (!event) {
      logger?.warn(
        { event: "order_events.unreadable", channel: ORDER_EVENTS_CHANNEL, bytes: Buffer.byteLength(payload) },
        "skipped a notification that is not an order event",
      );
      return;
    }
    for (const queue of queues) queue.offer(event);
  });
  const stopPruning = log ? startOrderEventPruner(log.db, log.retentionSeconds, logger) : undefined;
  return {
    log,
    subscribe(accept) {
      const queue: EventQueue<OrderEventMessage> = new EventQueue(
        MAX_QUEUED_EVENTS,
        accept,
        () => queues.delete(queue),
        () =>
          logger?.warn(
            { event: "order_events.dropped", limit: MAX_QUEUED_EVENTS },
            "a subscriber fell behind; its oldest event was dropped",
          ),
      );
      queues.add(queue);
      return queue;
    },
    get size() {
      return queues.size;
    },
    close() {
      stopPruning?.();
      unlisten();
      for (const queue of [...queues]) void queue.return();
    },
  };
}

/**
 * A bounded push queue read as an async iterator. `return()` ends it at once: a pending `next()` resolves as done,
 * so a subscription waiting for its next event stops without waiting for one.
 */
export class EventQueue<T> implements AsyncIterableIterator<T> {
  private readonly buffer: T[] = [];
  private waiting: ((result: IteratorResult<T>) => void) | undefined;
  private ended = false;
  /** How many values were dropped so far (the reader fell behind by more than the limit). */
  dropped = 0;

  constructor(
    private readonly limit: number,
    private readonly accept: ((value: T) => boolean) | undefined,
    private readonly onEnd: () => void,
    private readonly onDrop: () => void,
  ) {}

  /** Hands `value` to a waiting reader, or queues it (dropping the oldest beyond the limit). */
  offer(value: T): void {
    if (this.ended || (this.accept && !this.accept(value))) return;
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = undefined;
      resolve({ value, done: false });
      return;
    }
    this.buffer.push(value);
    if (this.buffer.length > this.limit) {
      this.buffer.shift();
      this.dropped++;
      this.onDrop();
    }
  }

  next(): Promise<IteratorResult<T>> {
    if (this.buffer.length > 0) return Promise.resolve({ value: this.buffer.shift()!, done: false });
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => (this.waiting = resolve));
  }

  return(): Promise<IteratorResult<T>> {
    if (!this.ended) {
      this.ended = true;
      this.buffer.length = 0;
      this.onEnd();
      const resolve = this.waiting;
      this.waiting = undefined;
      resolve?.({ value: undefined, done: true });
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
