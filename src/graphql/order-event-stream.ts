import { GraphQLError } from "graphql";
import type { Db } from "../data/database.js";
import { readOrderEventsAfter } from "../data/order-event-log.js";
import type { OrderEventMessage } from "../data/order-events.js";
import type { EventQueue, OrderEventFeed } from "./order-events.js";

/** The `extensions.code` of a subscription whose `after` cursor the log no longer has (older than the retention) or never had. */
export const CURSOR_EXPIRED = "CURSOR_EXPIRED";

const CURSOR_PREFIX = "order-event:";
const SEQ = /^[1-9][0-9]{0,18}$/;

/** The opaque cursor of a log event (`OrderEvent.cursor`): base64url of `order-event:<log id>`. */
export function encodeEventCursor(seq: string): string {
  return Buffer.from(CURSOR_PREFIX + seq).toString("base64url");
}

/** The log id of a cursor; throws BAD_USER_INPUT on anything `encodeEventCursor` did not make. */
export function decodeEventCursor(cursor: string): string {
  const text = cursor.length <= 64 ? Buffer.from(cursor, "base64url").toString("utf8") : "";
  const seq = text.startsWith(CURSOR_PREFIX) ? text.slice(CURSOR_PREFIX.length) : "";
  if (!SEQ.test(seq) || encodeEventCursor(seq) !== cursor) {
    throw new GraphQLError("after is not a cursor of an order event (pass an OrderEvent.cursor as it was received).", {
      extensions: { code: "BAD_USER_INPUT", argumentName: "after" },
    });
  }
  return seq;
}

export interface OrderEventStreamOptions {
  readonly feed: OrderEventFeed;
  readonly db: Db;
  /** Only this customer's events (`myOrderEvents`): filtered before anything is read, live and in the log. */
  readonly customerId?: string;
  /** The `after` argument: resume after this event's cursor. */
  readonly after?: string | null;
  /** The log's retention, for the error message. */
  readonly retentionSeconds: number;
}

/**
 * A subscription's order events: with `after`, every later event in the log (in order), then the live ones, with
 * no gap and no duplicate across the switch: the live feed is subscribed to first (and buffers), the log is read
 * after it, and live events at or below the last one sent are skipped. Should the live buffer overflow (a reader
 * more than `MAX_QUEUED_EVENTS` behind), the dropped events are read back from the log. Without `after`, the live
 * events from now on (and the same recovery once one was delivered: before that there is no place to resume from). Throws `CURSOR_EXPIRED` when the log no longer has the cursor's event, BAD_USER_INPUT for a
 * string that is not a cursor. `return()` ends it at once, also while it waits for a live event.
 */
export async function openOrderEventStream(options: OrderEventStreamOptions): Promise<AsyncIterableIterator<OrderEventMessage>> {
  const after = options.after == null ? null : decodeEventCursor(options.after);
  const { customerId } = options;
  const live = options.feed.subscribe(customerId === undefined ? undefined : (event) => event.customerId === customerId);
  if (after === null) return resumed(live, options, null, []);
  let first;
  try {
    first = await readOrderEventsAfter(options.db, after, { customerId, checkAfter: true });
  } catch (error) {
    await live.return();
    throw error;
  }
  if (!first.found) {
    await live.return();
    throw new GraphQLError(
      `The cursor's event is no longer in the event log (events are kept ${options.retentionSeconds} s) or never was: re-read the orders, then subscribe without after.`,
      { extensions: { code: CURSOR_EXPIRED, argumentName: "after" } },
    );
  }
  return resumed(live, options, after, first.events);
}

function resumed(
  live: EventQueue<OrderEventMessage>,
  options: OrderEventStreamOptions,
  after: string | null,
  firstPage: OrderEventMessage[],
): AsyncIterableIterator<OrderEventMessage> {
  return new ResumedStream(live, options, after === null ? null : BigInt(after), firstPage);
}

/** The stream `openOrderEventStream` returns; a class (not closures) because every idle subscriber holds one. */
class ResumedStream implements AsyncIterableIterator<OrderEventMessage> {
  // The log still has events after `last` (the page was not empty, or the live buffer dropped some).
  private more: boolean;
  private droppedSeen: number;
  private ended = false;

  constructor(
    private readonly live: EventQueue<OrderEventMessage>,
    private readonly options: OrderEventStreamOptions,
    /** The last event sent; null until the first when the stream started without `after`. */
    private last: bigint | null,
    private pending: OrderEventMessage[],
  ) {
    this.more = pending.length > 0;
    this.droppedSeen = live.dropped;
  }

  async next(): Promise<IteratorResult<OrderEventMessage>> {
    while (!this.ended) {
      if (this.pending.length === 0 && this.more) {
        const page = await readOrderEventsAfter(this.options.db, this.last!.toString(), { customerId: this.options.customerId });
        this.pending = page.events;
        this.more = page.events.length > 0;
      }
      const logged = this.pending.shift();
      if (logged) {
        this.last = BigInt(logged.seq);
        return { value: logged, done: false };
      }
      const event = await this.live.next();
      if (event.done || this.ended) break;
      if (this.live.dropped !== this.droppedSeen) {
        // Events were dropped from the buffer: they are in the log, after `last` (when there is one).
        this.droppedSeen = this.live.dropped;
        this.more = this.last !== null;
      }
      if (this.last !== null && BigInt(event.value.seq) <= this.last) continue;
      if (this.more) continue; // the log has it too, in order, with what was dropped before it
      this.last = BigInt(event.value.seq);
      return { value: event.value, done: false };
    }
    return { value: undefined, done: true };
  }

  async return(): Promise<IteratorResult<OrderEventMessage>> {
    this.ended = true;
    await this.live.return();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
