import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, type OpenDatabase } from "../../../src/data/database.js";
import { MAX_PAYLOAD_BYTES, publish } from "../../../src/data/notifications.js";
import { startTransaction } from "../../../src/data/transaction.js";
import { BACKENDS, createTestDatabase, TEST_DATABASE_URL, type ScratchDatabase } from "../../helpers/database.js";
import { waitUntil } from "../../helpers/faults.js";

describe.each(BACKENDS)("notifications on $name", ({ postgresUrl, skip }) => {
  let scratch: ScratchDatabase | undefined;
  let database: OpenDatabase;

  beforeAll(async () => {
    if (skip) return;
    scratch = postgresUrl ? await createTestDatabase(postgresUrl) : undefined;
    database = await openDatabase({ url: scratch?.url ?? null, pgliteDir: null });
  });

  afterAll(async () => {
    await database?.close(1000);
    await scratch?.drop();
  });

  it.skipIf(skip)("delivers a notification sent outside a transaction, to every listener of its channel only", async () => {
    const a: string[] = [];
    const b: string[] = [];
    const other: string[] = [];
    const stopA = await database.notifications().listen("test_plain", (p) => a.push(p));
    const stopB = await database.notifications().listen("test_plain", (p) => b.push(p));
    const stopOther = await database.notifications().listen("test_other", (p) => other.push(p));
    await publish(database.db, "test_plain", "one");
    await waitUntil("both listeners", () => a.length === 1 && b.length === 1, 5000, 10);
    expect([a, b, other]).toEqual([["one"], ["one"], []]);
    stopA();
    await publish(database.db, "test_plain", "two");
    await waitUntil("the remaining listener", () => b.length === 2, 5000, 10);
    expect(a).toEqual(["one"]);
    stopB();
    stopOther();
  });

  it.skipIf(skip)("delivers a notification sent in a transaction when it commits, and never when it rolls back", async () => {
    const seen: string[] = [];
    const stop = await database.notifications().listen("test_trx", (p) => seen.push(p));
    const rolledBack = await startTransaction(database.db);
    await publish(rolledBack, "test_trx", "rolled back");
    await rolledBack.rollback().execute();
    const committed = await startTransaction(database.db);
    await publish(committed, "test_trx", "committed");
    expect(seen).toEqual([]);
    await committed.commit().execute();
    await waitUntil("the committed notification", () => seen.length > 0, 5000, 10);
    // A marker sent after both: once it is in, nothing else can still be on its way.
    await publish(database.db, "test_trx", "marker");
    await waitUntil("the marker", () => seen.includes("marker"), 5000, 10);
    expect(seen).toEqual(["committed", "marker"]);
    stop();
  });

  it.skipIf(skip)("refuses a channel that is not an identifier and a payload over PostgreSQL's limit", async () => {
    await expect(database.notifications().listen("Bad-Channel; drop", () => undefined)).rejects.toThrow(/lower-case identifier/);
    await expect(publish(database.db, "test_plain", "x".repeat(MAX_PAYLOAD_BYTES))).rejects.toThrow(/8000-byte limit/);
  });
});

describe.skipIf(!TEST_DATABASE_URL)("notifications on PostgreSQL after the listening connection is lost", () => {
  let scratch: ScratchDatabase;
  let database: OpenDatabase;
  const lost: string[] = [];
  let reconnected = 0;

  beforeAll(async () => {
    scratch = await createTestDatabase(TEST_DATABASE_URL!);
    database = await openDatabase({
      url: scratch.url,
      pgliteDir: null,
      notifications: { retryDelayMs: 100, onConnectionError: (e) => lost.push(e.message), onReconnected: () => reconnected++ },
    });
  });

  afterAll(async () => {
    await database?.close(1000);
    await scratch?.drop();
  });

  it("reconnects, listens again, tells its resync handlers, and delivers what is sent afterwards", async () => {
    const seen: string[] = [];
    let resyncs = 0;
    await database.notifications().listen("test_lost", (p) => seen.push(p));
    database.notifications().onResync(() => resyncs++);
    expect(database.notifications().connected()).toBe(true);
    const admin = new pg.Client({ connectionString: scratch.url });
    await admin.connect();
    try {
      // The hub's connection is the one that listens; terminating it is what a failover does to it.
      const { rows } = await admin.query(
        "select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and query like 'listen%'",
      );
      expect(rows.length).toBe(1);
      await waitUntil("the loss is noticed", () => lost.length > 0, 5000, 10);
      await waitUntil("the hub reconnects", () => database.notifications().connected() && resyncs === 1, 5000, 20);
      expect(reconnected).toBe(1);
      await admin.query("select pg_notify('test_lost', 'after')");
      await waitUntil("the notification after reconnecting", () => seen.includes("after"), 5000, 10);
    } finally {
      await admin.end();
    }
  });
});
