import type { Logger } from "pino";
import type { RevocationList } from "../auth/index.js";
import type { Db } from "../data/database.js";
import type { NotificationHub } from "../data/notifications.js";
import { deleteExpiredRevocations, REVOCATIONS_CHANNEL } from "../data/revocations.js";
import { parseNotice, RevocationCursor } from "./cursor.js";

export { revocationOf } from "./cursor.js";

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
   * reload intervals, or `null` without a timer; `null`: always current.
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
  const staleAfterMs = staleAfterOf(options);
  const cursor = new RevocationCursor(db, list, options.pageSize ?? DEFAULT_PAGE_SIZE);
  let reloads = 0;
  let lastReload = 0;
  // When the last successful reload ended: a long one (the first, of a million records) is progress, not staleness.
  let lastSuccess = 0;
  let lastCleanUp = 0;
  let stale = false;
  let reloading: Promise<boolean> | null = null;

  const load = async () => {
    const started = Date.now();
    await cursor.catchUp();
    reloads++;
    lastReload = started;
    lastSuccess = Date.now();
  };

  const failed = (error: unknown) => {
    const failingForMs = lastSuccess === 0 ? null : Date.now() - lastSuccess;
    const context = { event: "revocations.reload_failed", err: errorOf(error), known: list.size, cursor: cursor.position, failingForMs };
    logger?.error(context, "could not reload revocations; keeping the ones known");
    if (!stale && staleAfterMs !== null && failingForMs !== null && failingForMs > staleAfterMs) {
      stale = true;
      logger?.error(
        { event: "revocations.stale", failingForMs, staleAfterMs },
        "revocations not reloaded for too long; reporting not ready",
      );
    }
  };

  const reload = (): Promise<boolean> =>
    (reloading ??= (async () => {
      try {
        await load();
      } catch (error) {
        failed(error);
        return false;
      }
      if (stale) {
        stale = false;
        logger?.info({ event: "revocations.current", cursor: cursor.position }, "revocations reloaded again; reporting ready");
      }
      if (Date.now() - lastCleanUp >= cleanUpIntervalMs) {
        lastCleanUp = Date.now();
        await cleanUp(db, list, logger);
      }
      return true;
    })().finally(() => {
      reloading = null;
    }));

  // Listening starts before the first load, so a revocation committed in between is heard, not missed until the
  // next reload (the list is a union: hearing one twice changes nothing).
  const stops = options.notifications ? await listenForRevocations(options.notifications, cursor, reload, logger) : [];
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
    stats: () => ({ cursor: cursor.position, reloads, rowsRead: cursor.rowsRead, lastSuccessAt: lastSuccess }),
    close: () => stops.forEach((stop) => stop()),
  };
}

/** Forgets expired records in memory and deletes them in the database (idempotent: every replica may do it). */
async function cleanUp(db: Db, list: RevocationList, logger: Logger | undefined): Promise<void> {
  list.prune(Date.now());
  try {
    const deleted = await deleteExpiredRevocations(db);
    if (deleted > 0) logger?.info({ event: "revocations.expired_deleted", deleted }, "expired revocations deleted");
  } catch (error) {
    logger?.warn(
      { event: "revocations.clean_up_failed", err: errorOf(error) },
      "could not delete expired revocations; the next clean-up tries again",
    );
  }
}

/** The error's kind, message and code (PostgreSQL's SQLSTATE, Node's errno name) for a log line. */
const errorOf = (error: unknown) => ({
  type: (error as Error)?.name,
  message: (error as Error)?.message,
  code: (error as { code?: unknown })?.code,
});

/** `staleAfterMs` as given, else three reload intervals, else (no timer) `null`. */
function staleAfterOf(options: RevocationSyncOptions): number | null {
  if (options.staleAfterMs !== undefined) return options.staleAfterMs;
  return options.reloadIntervalMs === null ? null : 3 * options.reloadIntervalMs;
}

/**
 * Applies each notification on `REVOCATIONS_CHANNEL` to the cursor (an unreadable one, and every resync, reloads
 * instead). Returns the functions that stop listening.
 */
async function listenForRevocations(
  notifications: NotificationHub,
  cursor: RevocationCursor,
  reload: () => Promise<boolean>,
  logger: Logger | undefined,
): Promise<(() => void)[]> {
  return [
    await notifications.listen(REVOCATIONS_CHANNEL, (payload) => {
      const notice = parseNotice(payload);
      if (notice) return cursor.apply(notice);
      logger?.warn({ event: "revocations.bad_notification" }, "a revocation notification could not be read; reloading");
      void reload();
    }),
    notifications.onResync(() => void reload()),
  ];
}
