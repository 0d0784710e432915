import type { Logger } from "pino";
import type { Revocation, RevocationList } from "../auth/index.js";
import type { Db } from "../data/database.js";
import type { NotificationHub } from "../data/notifications.js";
import { activeRevocations, activeRevocationsDigest, deleteExpiredRevocations, REVOCATIONS_CHANNEL, type RevocationNotice } from "../data/revocations.js";
import type { RevocationRow } from "../data/tables.js";

export interface RevocationSyncOptions {
  readonly db: Db;
  /** The replica's list, which the authenticator reads on every request. */
  readonly list: RevocationList;
  /** Where new revocations are announced; `null`: reloads only (Lambda, or REVOCATION_LISTEN=false). */
  readonly notifications: NotificationHub | null;
  /** Milliseconds between reloads, the safety net for lost notifications; `null`: no timer (Lambda: `refresh`). */
  readonly reloadIntervalMs: number | null;
  /** Milliseconds between deletions of expired records (each replica does it; it is idempotent). Default 60 000. */
  readonly cleanUpIntervalMs?: number;
  readonly logger?: Logger;
}

export interface RevocationSync {
  /** Reads every unexpired revocation from the database into the list; on failure keeps what the list knew. Never throws. */
  reload(): Promise<boolean>;
  /** Reloads when the last successful reload is older than `maxAgeMs` (the Lambda handlers' short-lived cache). */
  refresh(maxAgeMs: number): Promise<void>;
  /** Stops the timer and the listener. */
  close(): void;
}

/** A database row as the list's record. */
export function revocationOf(row: Pick<RevocationRow, "sub" | "sessionId" | "revokedBefore" | "expiresAt">): Revocation {
  return row.sessionId !== null
    ? { kind: "session", sub: row.sub, sessionId: row.sessionId, expiresAt: row.expiresAt }
    : { kind: "subject", sub: row.sub, before: row.revokedBefore!, expiresAt: row.expiresAt };
}

/**
 * Keeps a replica's revocation list in step with the database: a first load (which must succeed: it throws, and
 * the server does not start without knowing what is revoked), every notification on `REVOCATIONS_CHANNEL`
 * (within milliseconds of the revoking commit), a reload after the listening connection came back (notifications
 * may have been lost meanwhile), and a reload every `reloadIntervalMs` whatever happens. Records are only ever
 * added and, once expired, pruned: an unreachable database never makes a replica forget a revocation.
 */
export async function startRevocationSync(options: RevocationSyncOptions): Promise<RevocationSync> {
  const { db, list, logger } = options;
  const cleanUpIntervalMs = options.cleanUpIntervalMs ?? 60_000;
  let lastReload = 0;
  let lastCleanUp = 0;
  let reloading: Promise<boolean> | null = null;
  // The fingerprint of the records last read: a reload first asks the database for the current one (one row), and
  // reads the records again only when it differs.
  let knownDigest: string | null = null;

  const load = async () => {
    const started = Date.now();
    if (knownDigest === null || (await activeRevocationsDigest(db)) !== knownDigest) {
      const { rows, digest } = await activeRevocations(db);
      list.add(...rows.map(revocationOf));
      knownDigest = digest;
    }
    list.prune(Date.now());
    lastReload = started;
  };

  const reload = (): Promise<boolean> =>
    (reloading ??= (async () => {
      try {
        await load();
      } catch (error) {
        logger?.warn({ event: "revocations.reload_failed", err: { type: (error as Error)?.name, message: (error as Error)?.message }, known: list.size }, "could not reload revocations; keeping the ones known");
        return false;
      }
      if (Date.now() - lastCleanUp >= cleanUpIntervalMs) {
        lastCleanUp = Date.now();
        const deleted = await deleteExpiredRevocations(db).catch(() => 0);
        if (deleted > 0) logger?.info({ event: "revocations.expired_deleted", deleted }, "expired revocations deleted");
      }
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
        if (notice) list.add(revocationOf({ ...notice, revokedBefore: notice.revokedBefore === null ? null : new Date(notice.revokedBefore), expiresAt: new Date(notice.expiresAt) }));
        else {
          logger?.warn({ event: "revocations.bad_notification" }, "a revocation notification could not be read; reloading");
          void reload();
        }
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
    close: () => stops.forEach((stop) => stop()),
  };
}

function parseNotice(payload: string): RevocationNotice | null {
  try {
    const notice = JSON.parse(payload) as Partial<RevocationNotice>;
    const ok =
      typeof notice.sub === "string" &&
      typeof notice.expiresAt === "number" &&
      (typeof notice.sessionId === "string" ? notice.revokedBefore === null : notice.sessionId === null && typeof notice.revokedBefore === "number");
    return ok ? (notice as RevocationNotice) : null;
  } catch {
    return null;
  }
}
