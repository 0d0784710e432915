import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RevocationList } from "../../src/auth/index.js";
import { openDatabase, type OpenDatabase } from "../../src/data/database.js";
import { publish } from "../../src/data/notifications.js";
import { activeRevocations, activeRevocationsDigest, recordRevocation, REVOCATIONS_CHANNEL } from "../../src/data/revocations.js";
import { startRevocationSync, type RevocationSync } from "../../src/revocations/sync.js";
import { BACKENDS, createTestDatabase, TEST_DATABASE_URL, type ScratchDatabase } from "../helpers/database.js";
import { principal } from "../helpers/principal.js";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy.js";
import { waitUntil } from "../faults/helpers.js";

const hour = 3_600_000;
const subject = (sub: string, expiresInMs = hour) => ({ sub, revokedBefore: new Date(), expiresAt: new Date(Date.now() + expiresInMs), revokedBy: "test", cognitoSignedOut: false });
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

  const start = async (options: { listen?: boolean; reloadIntervalMs?: number | null } = {}) => {
    const list = new RevocationList();
    const sync = await startRevocationSync({
      db: database.db,
      list,
      notifications: options.listen === false ? null : database.notifications(),
      reloadIntervalMs: options.reloadIntervalMs ?? null,
      cleanUpIntervalMs: 0,
    });
    syncs.push(sync);
    return { list, sync };
  };

  it.skipIf(skip)("loads what is stored at start, learns a committed revocation by notification, and deletes expired records on reload", async () => {
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
  });

  it.skipIf(skip)("without notifications, learns a revocation at the next reload", async () => {
    const { list } = await start({ listen: false, reloadIntervalMs: 200 });
    await recordRevocation(database.db, subject("reloaded"));
    expect(revokedNow(list, "reloaded")).toBe(false);
    await waitUntil("the reload", () => revokedNow(list, "reloaded"), 5000, 20);
  });

  it.skipIf(skip)("reloads when a notification cannot be read", async () => {
    const { list } = await start();
    // Stored without its notification, then a notification that is not a revocation.
    await database.db.insertInto("revocations").values({ ...subject("quiet"), sessionId: null }).execute();
    await publish(database.db, REVOCATIONS_CHANNEL, "not json");
    await waitUntil("the reload after the bad notification", () => revokedNow(list, "quiet"), 5000, 10);
  });

  it.skipIf(skip)("fingerprints the unexpired records in the database exactly as it does the records it read, so an unchanged set is not read again", async () => {
    await recordRevocation(database.db, subject("fingerprinted"));
    const { rows, digest } = await activeRevocations(database.db);
    expect(rows.length).toBeGreaterThan(1);
    expect(await activeRevocationsDigest(database.db)).toBe(digest);
    await recordRevocation(database.db, subject("changes-it"));
    expect(await activeRevocationsDigest(database.db)).not.toBe(digest);
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
    database = await openDatabase({ url: target.toString(), pgliteDir: null, connectTimeoutMs: 1000, notifications: { retryDelayMs: 100 } });
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
