import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, type OpenDatabase } from "../../../src/data/database.js";
import type { NotificationHub } from "../../../src/data/notifications.js";
import { decodeEventCursor, encodeEventCursor, openOrderEventStream } from "../../../src/graphql/order-event-stream.js";
import { createOrderEventFeed, MAX_QUEUED_EVENTS } from "../../../src/graphql/order-events.js";

/** A hub whose notifications the test sends by hand. */
function fakeHub() {
  let handler: ((payload: string) => void) | undefined;
  const hub: NotificationHub = {
    listen: async (_channel, h) => {
      handler = h;
      return () => (handler = undefined);
    },
    onResync: () => () => undefined,
    connected: () => true,
    close: async () => undefined,
  };
  return { hub, notify: (payload: object) => handler?.(JSON.stringify(payload)) };
}

describe("a subscription's order events over the durable log", () => {
  let database: OpenDatabase;
  beforeAll(async () => {
    database = await openDatabase({ url: null, pgliteDir: null });
  });
  afterAll(() => database?.close());

  /** Writes `count` events to the log (as publishOrderEvent would) and returns them as notifications. */
  const logEvents = async (count: number, customerId = "sub-1") => {
    const { rows } = await sql<{ seq: string; occurredAt: Date }>`
      insert into order_events (order_id, customer_id, kind)
      select 'o-' || n, ${customerId}, 'PLACED' from generate_series(1, ${count}::int) as n
      returning id::text as seq, occurred_at`.execute(database.db);
    return rows.map((r, i) => ({ seq: r.seq, orderId: `o-${i + 1}`, customerId, kind: "PLACED", occurredAt: r.occurredAt.toISOString() }));
  };

  it("reads back from the log what a reader too slow for its buffer lost, in order, once", async () => {
    const { hub, notify } = fakeHub();
    const feed = await createOrderEventFeed(hub, { warn: () => undefined } as never, { db: database.db, retentionSeconds: 3600 });
    const stream = await openOrderEventStream({ feed, db: database.db, retentionSeconds: 3600 });
    const events = await logEvents(MAX_QUEUED_EVENTS + 50);
    notify(events[0]!);
    expect((await stream.next()).value.seq).toBe(events[0]!.seq);
    // The reader stops reading while all the others arrive: the oldest 49 are dropped from its buffer.
    for (const event of events.slice(1)) notify(event);
    const got: string[] = [];
    for (let i = 1; i < events.length; i++) got.push((await stream.next()).value.seq);
    expect(got).toEqual(events.slice(1).map((e) => e.seq));
    await stream.return!();
    expect(feed.size).toBe(0);
    feed.close();
  });

  it("encodes cursors opaquely and refuses anything else", () => {
    expect(decodeEventCursor(encodeEventCursor("12345"))).toBe("12345");
    for (const bad of ["", "abc", encodeEventCursor("0"), Buffer.from("order-event:01").toString("base64url"), "x".repeat(100)]) {
      expect(() => decodeEventCursor(bad)).toThrow(/not a cursor/);
    }
  });
});
