import { describe, expect, it } from "vitest";
import { parseOrderEvent, publishOrderEvent, ORDER_EVENTS_CHANNEL } from "../../src/data/order-events.js";
import { openDatabase } from "../../src/data/database.js";
import { startTransaction } from "../../src/data/transaction.js";

describe("order event messages", () => {
  const message = { orderId: "o-1", customerId: "sub-1", kind: "PLACED", occurredAt: "2026-05-01T10:00:00.000Z" };

  it("reads back what publishOrderEvent writes", () => {
    expect(parseOrderEvent(JSON.stringify(message))).toEqual({ ...message, occurredAt: new Date(message.occurredAt) });
  });

  it.each([
    ["not JSON", "nope"],
    ["not an object", "42"],
    ["an unknown kind", JSON.stringify({ ...message, kind: "DELETED" })],
    ["an empty order id", JSON.stringify({ ...message, orderId: "" })],
    ["no customer", JSON.stringify({ ...message, customerId: undefined })],
    ["a bad time", JSON.stringify({ ...message, occurredAt: "yesterday" })],
  ])("skips %s", (_label, payload) => {
    expect(parseOrderEvent(payload)).toBeNull();
  });
});

describe("publishOrderEvent on the embedded database", () => {
  it("delivers on commit, never on rollback, and carries ids, kind and time only", async () => {
    const database = await openDatabase({ url: null, pgliteDir: null });
    try {
      const received: string[] = [];
      const stop = await database.notifications().listen(ORDER_EVENTS_CHANNEL, (payload) => received.push(payload));
      const order = { id: "o-1", customerId: "sub-1", updatedAt: new Date("2026-05-01T10:00:00Z") };
      const rolledBack = await startTransaction(database.db);
      await publishOrderEvent(rolledBack, "CANCELLED", order);
      await rolledBack.rollback().execute();
      const committed = await startTransaction(database.db);
      await publishOrderEvent(committed, "PLACED", order);
      expect(received).toEqual([]);
      await committed.commit().execute();
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(received.map((p) => JSON.parse(p))).toEqual([{ orderId: "o-1", customerId: "sub-1", kind: "PLACED", occurredAt: "2026-05-01T10:00:00.000Z" }]);
      stop();
    } finally {
      await database.close();
    }
  });
});
