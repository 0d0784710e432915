import { describe, expect, it, vi } from "vitest";
import type { NotificationHub } from "../../../src/data/notifications.js";
import { ORDER_EVENTS_CHANNEL } from "../../../src/data/order-events.js";
import { createOrderEventFeed, EventQueue, MAX_QUEUED_EVENTS } from "../../../src/graphql/order-events.js";

/** A hub whose notifications the test sends by hand. */
function fakeHub() {
  const handlers = new Map<string, (payload: string) => void>();
  const hub: NotificationHub = {
    listen: async (channel, handler) => {
      handlers.set(channel, handler);
      return () => handlers.delete(channel);
    },
    onResync: () => () => undefined,
    connected: () => true,
    close: async () => undefined,
  };
  const notify = (payload: unknown) =>
    handlers.get(ORDER_EVENTS_CHANNEL)?.(typeof payload === "string" ? payload : JSON.stringify(payload));
  return { hub, notify, listening: () => handlers.has(ORDER_EVENTS_CHANNEL) };
}

let seq = 0;
const event = (orderId: string, customerId = "sub-1") => ({
  seq: String(++seq),
  orderId,
  customerId,
  kind: "PLACED",
  occurredAt: "2026-05-01T10:00:00.000Z",
});

describe("the order event feed", () => {
  it("hands every event to every subscription, each filtered by its own test", async () => {
    const { hub, notify } = fakeHub();
    const feed = await createOrderEventFeed(hub);
    const all = feed.subscribe();
    const mine = feed.subscribe((e) => e.customerId === "sub-2");
    notify(event("o-1"));
    notify(event("o-2", "sub-2"));
    expect((await all.next()).value.orderId).toBe("o-1");
    expect((await all.next()).value.orderId).toBe("o-2");
    expect((await mine.next()).value.orderId).toBe("o-2");
    expect(feed.size).toBe(2);
    await all.return!();
    expect(feed.size).toBe(1);
    feed.close();
  });

  it("skips payloads that are not order events, with a warning", async () => {
    const { hub, notify } = fakeHub();
    const warn = vi.fn();
    const feed = await createOrderEventFeed(hub, { warn } as never);
    const all = feed.subscribe();
    notify("garbage");
    notify(event("o-1"));
    expect((await all.next()).value.orderId).toBe("o-1");
    expect(warn).toHaveBeenCalledTimes(1);
    feed.close();
  });

  it("ends a waiting subscription at once on return(), and every one on close()", async () => {
    const { hub, listening } = fakeHub();
    const feed = await createOrderEventFeed(hub);
    const waiting = feed.subscribe();
    const pending = waiting.next();
    await waiting.return!();
    expect(await pending).toEqual({ value: undefined, done: true });
    const other = feed.subscribe();
    const otherPending = other.next();
    feed.close();
    expect(await otherPending).toEqual({ value: undefined, done: true });
    expect(listening()).toBe(false);
  });
});

describe("EventQueue", () => {
  it(`keeps at most its limit (${MAX_QUEUED_EVENTS} in the feed), dropping the oldest`, async () => {
    const dropped = vi.fn();
    const queue = new EventQueue<number>(2, undefined, () => undefined, dropped);
    for (const n of [1, 2, 3]) queue.offer(n);
    expect(dropped).toHaveBeenCalledTimes(1);
    expect((await queue.next()).value).toBe(2);
    expect((await queue.next()).value).toBe(3);
  });
});
