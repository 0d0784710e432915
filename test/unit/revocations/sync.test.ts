import pino from "pino";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RevocationList } from "../../../src/auth/index.js";
import { openDatabase, type OpenDatabase } from "../../../src/data/database.js";
import { publish } from "../../../src/data/notifications.js";
import { latestRevocationSeq, recordRevocation, REVOCATIONS_CHANNEL } from "../../../src/data/revocations.js";
import { startRevocationSync, type RevocationSync } from "../../../src/revocations/sync.js";
import { BACKENDS, createTestDatabase, TEST_DATABASE_URL, type ScratchDatabase } from "../../helpers/database.js";
import { principal } from "../../helpers/principal.js";
import { startTcpProxy, type TcpProxy } from "../../helpers/tcp-proxy.js";
import { waitUntil } from "../../helpers/faults.js";

const hour = 3_600_000;
const subject = (sub: string, expiresInMs = hour) => ({
  sub,
  revokedBefore: new Date(),
  expiresAt: new Date(Date.now() + expiresInMs),
  revokedBy: "test",
  cognitoSignedOut: false,
});
const revokedNow = (list: RevocationList, sub: string) => list.isRevoked(principal({ sub, authTime: new Date(Date.now() - 60_000) }));

describe.each(BACKENDS)("the revocation sync on $name", ({ postgresUrl, skip }) => {
  let scratch: ScratchDatabase | undefined;
  let database: OpenDatabase;
  const syncs: RevocationSync[] = [];

  beforeAll(async () => {
    if (skip) return;
    scratch = postgresUrl ? await createTestDatabase(postgresUrl) : undefined;
    database = await openDatabase({ url: scratch?.url ?? null, pgliteDir: null });
  });
  afterAll(async () => {
    syncs.forEach((sync) => sync.close());
    await database?.close(1000);
    await scratch?.drop();
  });

  const start = async (
    options: {
      listen?: boolean;
      reloadIntervalMs?: number | null;
      staleAfterMs?: number;
      pageSize?: number;
      logs?: Record<string, any>[];
    } = {},
  ) => {
    const list = new RevocationList();
    const sync = await startRevocationSync({
      db: database.db,
      list,
      notifications: options.listen === false ? null : database.notifications(),
      reloadIntervalMs: options.reloadIntervalMs ?? null,
      staleAfterMs: options.staleAfterMs,
      pageSize: options.pageSize,
      cleanUpIntervalMs: 0,
      logger: options.logs && pino({ level: "info" }, { write: (line: string) => void options.logs!.push(JSON.parse(line)) }),
    });
    syncs.push(sync);
    return { list, sync };
  };

  it.skipIf(skip)(
    "loads what is stored at start, learns a committed revocation by notification, and deletes expired records on reload",
    async () => {
      await recordRevocation(database.db, subject("stored"));
      await recordRevocation(database.db, subject("expired", -1000));
      const { list, sync } = await start();
      expect(revokedNow(list, "stored")).toBe(true);
      expect(revokedNow(list, "expired")).toBe(false);
      await recordRevocation(database.db, subject("notified"));
      await waitUntil("the notification", () => revokedNow(list, "notified"), 5000, 10);
      await sync.reload();
      const left = await database.db.selectFrom("revocations").select("sub").execute();
      expect(left.map((r) => r.sub)).not.toContain("expired");
    },
  );

  it.skipIf(skip)("without notifications, learns a revocation at the next reload", async () => {
    const { list } = await start({ listen: false, reloadIntervalMs: 200 });
    await recordRevocation(database.db, subject("reloaded"));
    expect(revokedNow(list, "reloaded")).toBe(false);
    await waitUntil("the reload", () => revokedNow(list, "reloaded"), 5000, 20);
  });

  it.skipIf(skip)("reloads when a notification cannot be read", async () => {
    const { list } = await start();
    // Stored without its notification, then a notification that is not a revocation.
    await database.db
      .insertInto("revocations")
      .values({ ...subject("quiet"), sessionId: null })
      .execute();
    await publish(database.db, REVOCATIONS_CHANNEL, "not json");
    await waitUntil("the reload after the bad notification", () => revokedNow(list, "quiet"), 5000, 10);
  });

  it.skipIf(skip)("reads only the records after its cursor, a page at a time, and nothing when nothing is new", async () => {
    for (let i = 0; i < 5; i++) await recordRevocation(database.db, subject(`paged-${i}`));
    const { list, sync } = await start({ listen: false, pageSize: 2 });
    for (let i = 0; i < 5; i++) expect(revokedNow(list, `paged-${i}`)).toBe(true);
    expect(sync.stats().cursor).toBe(await latestRevocationSeq(database.db));
    const { rowsRead } = sync.stats();
    expect(await sync.reload()).toBe(true);
    expect(sync.stats().rowsRead).toBe(rowsRead);
    for (let i = 0; i < 3; i++) await recordRevocation(database.db, subject(`after-${i}`));
    expect(await sync.reload()).toBe(true);
    expect(sync.stats().rowsRead - rowsRead).toBe(3);
    expect(revokedNow(list, "after-2")).toBe(true);
  });

  it.skipIf(skip)("moves its cursor with each notified revocation, so the next reload reads nothing again", async () => {
    const { list, sync } = await start({ reloadIntervalMs: null });
    const row = await recordRevocation(database.db, subject("heard"));
    await waitUntil("the notification", () => revokedNow(list, "heard"), 5000, 10);
    expect(sync.stats().cursor).toBe(Number(row.seq));
    const { rowsRead } = sync.stats();
    await sync.reload();
    expect(sync.stats().rowsRead).toBe(rowsRead);
  });

  it.skipIf(skip)(
    "applies a notification without seq (the previous release's, in a rolling deploy) without moving its cursor",
    async () => {
      const { list, sync } = await start({ reloadIntervalMs: null });
      const { cursor } = sync.stats();
      await publish(
        database.db,
        REVOCATIONS_CHANNEL,
        JSON.stringify({ sub: "old-release", sessionId: null, revokedBefore: Date.now(), expiresAt: Date.now() + hour }),
      );
      await waitUntil("the notification", () => revokedNow(list, "old-release"), 5000, 10);
      expect(sync.stats().cursor).toBe(cursor);
    },
  );

  it.skipIf(skip)("logs a failed reload at error level and stops being current past its bound, then recovers", async () => {
    const logs: Record<string, any>[] = [];
    const { sync } = await start({ listen: false, reloadIntervalMs: 60_000, staleAfterMs: 1000, logs });
    await sql`alter table revocations rename to revocations_away`.execute(database.db);
    try {
      await new Promise((resolve) => setTimeout(resolve, 1100));
      expect(await sync.reload()).toBe(false);
      expect(sync.current()).toBe(false);
    } finally {
      await sql`alter table revocations_away rename to revocations`.execute(database.db);
    }
    expect(logs).toContainEqual(
      expect.objectContaining({ level: 50, event: "revocations.reload_failed", err: expect.objectContaining({ code: "42P01" }) }),
    );
    expect(logs).toContainEqual(expect.objectContaining({ level: 50, event: "revocations.stale" }));
    expect(await sync.reload()).toBe(true);
    expect(sync.current()).toBe(true);
    expect(logs).toContainEqual(expect.objectContaining({ event: "revocations.current" }));
  });

  it.skipIf(skip)("refresh(maxAge) reloads only when the last reload is older than maxAge", async () => {
    const { list, sync } = await start({ listen: false });
    await recordRevocation(database.db, subject("refreshed"));
    await sync.refresh(60_000);
    expect(revokedNow(list, "refreshed")).toBe(false);
    await sync.refresh(0);
    expect(revokedNow(list, "refreshed")).toBe(true);
  });
});

describe.skipIf(!TEST_DATABASE_URL)("the revocation sync when PostgreSQL goes away", () => {
  let scratch: ScratchDatabase;
  let proxy: TcpProxy;
  let database: OpenDatabase;
  let sync: RevocationSync | undefined;

  beforeAll(async () => {
    scratch = await createTestDatabase(TEST_DATABASE_URL!);
    const target = new URL(scratch.url);
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    target.port = String(proxy.port);
    database = await openDatabase({
      url: target.toString(),
      pgliteDir: null,
      connectTimeoutMs: 1000,
      notifications: { retryDelayMs: 100 },
    });
  });
  afterAll(async () => {
    sync?.close();
    await database?.close(1000);
    await proxy?.close();
    await scratch?.drop();
  });

  it("keeps refusing what it knew while the database is unreachable, and catches up on what it missed once it is back", async () => {
    const list = new RevocationList();
    await recordRevocation(database.db, subject("known"));
    sync = await startRevocationSync({ db: database.db, list, notifications: database.notifications(), reloadIntervalMs: 60_000 });
    await proxy.cut();
    expect(await sync.reload()).toBe(false);
    expect(revokedNow(list, "known")).toBe(true);
    // Recorded while this replica cannot hear: its notification is lost to it.
    const direct = await openDatabase({ url: scratch.url, pgliteDir: null });
    try {
      await recordRevocation(direct.db, subject("missed"));
    } finally {
      await direct.close();
    }
    await proxy.restore();
    // The listening connection comes back and its resync reloads, long before the 60 s timer.
    await waitUntil("the resync after reconnecting", () => revokedNow(list, "missed"), 10_000, 50);
    expect(revokedNow(list, "known")).toBe(true);
  });
});

describe.skipIf(!TEST_DATABASE_URL)("revocations written at once on PostgreSQL", () => {
  let scratch: ScratchDatabase;
  let first: OpenDatabase;
  let second: OpenDatabase;

  beforeAll(async () => {
    scratch = await createTestDatabase(TEST_DATABASE_URL!);
    first = await openDatabase({ url: scratch.url, pgliteDir: null });
    second = await openDatabase({ url: scratch.url, pgliteDir: null });
  });
  afterAll(async () => {
    await first?.close(1000);
    await second?.close(1000);
    await scratch?.drop();
  });

  it("commit in seq order: a second writer waits for the first one's commit, so no reader steps over a number still to come", async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let inserted!: () => void;
    const firstInserted = new Promise<void>((resolve) => (inserted = resolve));
    const firstWriter = first.db.transaction().execute(async (trx) => {
      const row = await recordRevocation(trx, subject("written-first"));
      inserted();
      await held;
      return row;
    });
    await firstInserted;
    let secondCommitted = false;
    const secondWriter = recordRevocation(second.db, subject("written-second")).then((row) => {
      secondCommitted = true;
      return row;
    });
    const waiting = async () => {
      const { rows } = await sql<{
        n: number;
      }>`select count(*)::int as n from pg_locks where locktype = 'advisory' and not granted and database = (select oid from pg_database where datname = current_database())`.execute(
        second.db,
      );
      return rows[0]!.n > 0;
    };
    await waitUntil("the second writer waiting on the write lock", waiting, 5000, 10);
    // Meanwhile a reader sees neither: the latest committed number is below both.
    const list = new RevocationList();
    const sync = await startRevocationSync({ db: second.db, list, notifications: null, reloadIntervalMs: null });
    expect(sync.stats().cursor).toBe(0);
    expect(revokedNow(list, "written-first") || revokedNow(list, "written-second")).toBe(false);
    expect(secondCommitted).toBe(false);
    release();
    const [a, b] = await Promise.all([firstWriter, secondWriter]);
    expect(Number(a.seq)).toBeLessThan(Number(b.seq));
    await sync.reload();
    expect(revokedNow(list, "written-first")).toBe(true);
    expect(revokedNow(list, "written-second")).toBe(true);
    sync.close();
  });
});
