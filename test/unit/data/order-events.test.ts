import { describe, expect, it } from "vitest";
import { parseOrderEvent, publishOrderEvent, ORDER_EVENTS_CHANNEL } from "../../../src/data/order-events.js";
import { openDatabase } from "../../../src/data/database.js";
import { runBeforeCommit, startTransaction } from "../../../src/data/transaction.js";

describe("order event messages", () => {
  const message = { seq: "42", orderId: "o-1", customerId: "sub-1", kind: "PLACED", occurredAt: "2026-05-01T10:00:00.000Z" };

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
    ["no log id (an older replica's format)", JSON.stringify({ ...message, seq: undefined })],
    ["a log id that is not a positive integer", JSON.stringify({ ...message, seq: "01" })],
  ])("skips %s", (_label, payload) => {
    expect(parseOrderEvent(payload)).toBeNull();
  });
});

describe("publishOrderEvent on the embedded database", () => {
  it("logs and delivers on commit, never on rollback, and carries the log id, ids, kind and time only", async () => {
    const database = await openDatabase({ url: null, pgliteDir: null });
    try {
      const received: string[] = [];
      const stop = await database.notifications().listen(ORDER_EVENTS_CHANNEL, (payload) => received.push(payload));
      const order = { id: "o-1", customerId: "sub-1" };
      const rolledBack = await startTransaction(database.db);
      await publishOrderEvent(rolledBack, "CANCELLED", order);
      await rolledBack.rollback().execute();
      const committed = await startTransaction(database.db);
      await publishOrderEvent(committed, "PLACED", order);
      // Deferred to the transaction's last step: nothing written (and the log's lock not taken) before it.
      expect(await committed.selectFrom("orderEvents").selectAll().execute()).toEqual([]);
      const before = Date.now();
      await runBeforeCommit(committed);
      expect(received).toEqual([]);
      await committed.commit().execute();
      await new Promise((resolve) => setTimeout(resolve, 50));
      const messages = received.map((p) => JSON.parse(p));
      expect(messages).toEqual([
        {
          seq: expect.stringMatching(/^[1-9][0-9]*$/),
          orderId: "o-1",
          customerId: "sub-1",
          kind: "PLACED",
          occurredAt: expect.any(String),
        },
      ]);
      // The time of the write, not of the transaction's start (the rolled-back one, before, burnt an id).
      expect(Date.parse(messages[0].occurredAt)).toBeGreaterThan(before - 5000);
      const logged = await database.db.selectFrom("orderEvents").selectAll().execute();
      expect(logged.map((r) => [String(r.id), r.orderId, r.kind, r.occurredAt.toISOString()])).toEqual([
        [messages[0].seq, "o-1", "PLACED", messages[0].occurredAt],
      ]);
      stop();
    } finally {
      await database.close();
    }
  });
});
