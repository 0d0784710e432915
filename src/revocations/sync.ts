import type { Logger } from "pino";
import type { Revocation, RevocationList } from "../auth/index.js";
import type { Db } from "../data/database.js";
import type { NotificationHub } from "../data/notifications.js";
import { deleteExpiredRevocations, latestRevocationSeq, revocationsAfter, REVOCATIONS_CHANNEL, type RevocationNotice, type SyncedRevocation } from "../data/revocations.js";

export interface RevocationSyncOptions {
  readonly db: Db;
  /** The replica's list, which the authenticator reads on every request. */
  readonly list: RevocationList;
  /** Where new revocations are announced; `null`: reloads only (Lambda, or REVOCATION_LISTEN=false). */
  readonly notifications: NotificationHub | null;
  /** Milliseconds between reloads, the safety net for lost notifications; `null`: no timer (Lambda: `refresh`). */
  readonly reloadIntervalMs: number | null;
  /**
   * Milliseconds without a successful reload after which `current()` turns false (readiness). Default three
   * reload intervals; `null` (or no timer): always current.
   */
  readonly staleAfterMs?: number | null;
  /** Milliseconds between deletions of expired records (each replica does it; it is idempotent). Default 60 000. */
  readonly cleanUpIntervalMs?: number;
  /** Records read per query (one page of the keyset walk). Default 10 000. */
  readonly pageSize?: number;
  readonly logger?: Logger;
}

/** What a replica's sync has done, for readiness, the bench and tests. */
export interface RevocationSyncStats {
  /** The highest `seq` below which every record was applied (0: none yet). */
  readonly cursor: number;
  /** Reloads that succeeded, and the records all of them read. */
  readonly reloads: number;
  readonly rowsRead: number;
  /** Milliseconds since the epoch at the end of the last successful reload (0: never). */
  readonly lastSuccessAt: number;
}

export interface RevocationSync {
  /**
   * Asks the database for its latest `seq` (one index lookup) and reads the records after this replica's cursor,
   * if any, into the list. On failure keeps what the list knew, logs an `error` line and answers false. Never throws.
   */
  reload(): Promise<boolean>;
  /** Reloads when the last successful reload is older than `maxAgeMs` (the Lambda handlers' short-lived cache). */
  refresh(maxAgeMs: number): Promise<void>;
  /** Whether the list is kept current: false once no reload has succeeded for `staleAfterMs` (`/readyz`). */
  current(): boolean;
  stats(): RevocationSyncStats;
  /** Stops the timer and the listener. */
  close(): void;
}

/** A database row as the list's record. */
export function revocationOf(row: Pick<SyncedRevocation, "sub" | "sessionId" | "revokedBefore" | "expiresAt">): Revocation {
  return row.sessionId !== null
    ? { kind: "session", sub: row.sub, sessionId: row.sessionId, expiresAt: row.expiresAt }
    : { kind: "subject", sub: row.sub, before: row.revokedBefore!, expiresAt: row.expiresAt };
}

const DEFAULT_PAGE_SIZE = 10_000;

/**
 * Keeps a replica's revocation list in step with the database through a cursor the database assigns (`seq`,
 * committed in order): a first load (which must succeed: it throws, and the server does not start without knowing
 * what is revoked), every notification on `REVOCATIONS_CHANNEL` (within milliseconds of the revoking commit), a
 * reload after the listening connection came back, and a reload every `reloadIntervalMs`. A reload reads only the
 * records after the cursor, a page at a time, so its cost follows the changes, not the table. Records are only
 * ever added and, once expired, pruned (with the clean-up): an unreachable database never makes a replica forget.
 */
export async function startRevocationSync(options: RevocationSyncOptions): Promise<RevocationSync> {
  const { db, list, logger } = options;
  const cleanUpIntervalMs = options.cleanUpIntervalMs ?? 60_000;
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  const staleAfterMs = options.reloadIntervalMs === null ? null : options.staleAfterMs === undefined ? 3 * options.reloadIntervalMs : options.staleAfterMs;
  let cursor = 0;
  let reloads = 0;
  let rowsRead = 0;
  let lastReload = 0;
  // When the last successful reload ended: a long one (the first, of a million records) is progress, not staleness.
  let lastSuccess = 0;
  let lastCleanUp = 0;
  let stale = false;
  let reloading: Promise<boolean> | null = null;

  const load = async () => {
    const started = Date.now();
    const latest = await latestRevocationSeq(db);
    // Keyset pages along the seq index up to `latest`: every record at or below it is committed (or never will be).
    while (latest > cursor) {
      const rows = await revocationsAfter(db, cursor, latest, pageSize);
      list.addAll(rows.map(revocationOf));
      rowsRead += rows.length;
      cursor = Math.max(cursor, rows.length < pageSize ? latest : Number(rows[rows.length - 1]!.seq));
    }
    reloads++;
    lastReload = started;
    lastSuccess = Date.now();
  };

  const cleanUp = async () => {
    lastCleanUp = Date.now();
    list.prune(lastCleanUp);
    try {
      const deleted = await deleteExpiredRevocations(db);
      if (deleted > 0) logger?.info({ event: "revocations.expired_deleted", deleted }, "expired revocations deleted");
    } catch (error) {
      logger?.warn({ event: "revocations.clean_up_failed", err: errorOf(error) }, "could not delete expired revocations; the next clean-up tries again");
    }
  };

  const reload = (): Promise<boolean> =>
    (reloading ??= (async () => {
      try {
        await load();
      } catch (error) {
        const failingForMs = lastSuccess === 0 ? null : Date.now() - lastSuccess;
        logger?.error({ event: "revocations.reload_failed", err: errorOf(error), known: list.size, cursor, failingForMs }, "could not reload revocations; keeping the ones known");
        if (!stale && staleAfterMs !== null && failingForMs !== null && failingForMs > staleAfterMs) {
          stale = true;
          logger?.error({ event: "revocations.stale", failingForMs, staleAfterMs }, "revocations not reloaded for too long; reporting not ready");
        }
        return false;
      }
      if (stale) {
        stale = false;
        logger?.info({ event: "revocations.current", cursor }, "revocations reloaded again; reporting ready");
      }
      if (Date.now() - lastCleanUp >= cleanUpIntervalMs) await cleanUp();
      return true;
    })().finally(() => {
      reloading = null;
    }));

  // Listening starts before the first load, so a revocation committed in between is heard, not missed until the
  // next reload (the list is a union: hearing one twice changes nothing).
  const stops: (() => void)[] = [];
  if (options.notifications) {
    stops.push(
      await options.notifications.listen(REVOCATIONS_CHANNEL, (payload) => {
        const notice = parseNotice(payload);
        if (!notice) {
          logger?.warn({ event: "revocations.bad_notification" }, "a revocation notification could not be read; reloading");
          void reload();
          return;
        }
        list.add(revocationOf({ ...notice, revokedBefore: notice.revokedBefore === null ? null : new Date(notice.revokedBefore), expiresAt: new Date(notice.expiresAt) }));
        // Notifications come in commit order, which is seq order: the next number moves the cursor. After a gap
        // (a rolled-back revocation, a notification lost) the next reload reads from the cursor and closes it.
        if (notice.seq > 0 && notice.seq === cursor + 1) cursor = notice.seq;
      }),
      options.notifications.onResync(() => void reload()),
    );
  }
  try {
    await load();
  } catch (error) {
    stops.forEach((stop) => stop());
    throw error;
  }
  if (options.reloadIntervalMs !== null) {
    const timer = setInterval(() => void reload(), options.reloadIntervalMs);
    timer.unref();
    stops.push(() => clearInterval(timer));
  }
  return {
    reload,
    async refresh(maxAgeMs) {
      if (Date.now() - lastReload > maxAgeMs) await reload();
    },
    // Time since the last success, not a count of failures: a reload that hangs (a pool that cannot connect) counts too.
    current: () => staleAfterMs === null || Date.now() - lastSuccess <= staleAfterMs,
    stats: () => ({ cursor, reloads, rowsRead, lastSuccessAt: lastSuccess }),
    close: () => stops.forEach((stop) => stop()),
  };
}

/** The error's kind, message and code (PostgreSQL's SQLSTATE, Node's errno name) for a log line. */
const errorOf = (error: unknown) => ({ type: (error as Error)?.name, message: (error as Error)?.message, code: (error as { code?: unknown })?.code });

function parseNotice(payload: string): RevocationNotice | null {
  try {
    const notice = JSON.parse(payload) as Partial<RevocationNotice>;
    // A notice without `seq` (from a replica of the previous release, during a rolling deploy) is applied but does
    // not move the cursor: the next reload reads it.
    const ok =
      (notice.seq === undefined || Number.isSafeInteger(notice.seq)) &&
      typeof notice.sub === "string" &&
      typeof notice.expiresAt === "number" &&
      (typeof notice.sessionId === "string" ? notice.revokedBefore === null : notice.sessionId === null && typeof notice.revokedBefore === "number");
    return ok ? ({ seq: 0, ...notice } as RevocationNotice) : null;
  } catch {
    return null;
  }
}
