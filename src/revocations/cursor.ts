import type { Revocation, RevocationList } from "../auth/index.js";
import type { Db } from "../data/database.js";
import { latestRevocationSeq, revocationsAfter, type RevocationNotice, type SyncedRevocation } from "../data/revocations.js";

/** A database row as the list's record. */
export function revocationOf(
  row: Pick<SyncedRevocation, "sub" | "sessionId" | "revokedBefore" | "expiresAt"> & { readonly sessionSignedInAt?: Date | null },
): Revocation {
  return row.sessionId !== null
    ? { kind: "session", sub: row.sub, sessionId: row.sessionId, signedInAt: row.sessionSignedInAt ?? null, expiresAt: row.expiresAt }
    : { kind: "subject", sub: row.sub, before: row.revokedBefore!, expiresAt: row.expiresAt };
}

/**
 * A replica's place in the `revocations` table: `position` is the highest `seq` up to which every record was
 * applied to `list` (records commit in `seq` order: see the cursor migration). Reading catches up from there;
 * notifications move it when they bring the next number.
 */
export class RevocationCursor {
  /** The highest `seq` up to which every record was applied (0: none yet). */
  position = 0;
  /** Records read from the database so far. */
  rowsRead = 0;

  /** `pageSize`: records per query of the keyset walk. */
  constructor(
    private readonly db: Db,
    private readonly list: RevocationList,
    private readonly pageSize: number,
  ) {}

  /**
   * Asks for the latest committed `seq` (one index lookup) and, when it is past `position`, reads the unexpired
   * records in between a page at a time, adding each page to the list with a loop. Throws on database failure,
   * keeping the position of the last page applied.
   */
  async catchUp(): Promise<void> {
    const latest = await latestRevocationSeq(this.db);
    // Every record at or below `latest` is committed (or never will be): keyset pages along the seq index up to it.
    while (latest > this.position) {
      const rows = await revocationsAfter(this.db, this.position, latest, this.pageSize);
      this.list.addAll(rows.map(revocationOf));
      this.rowsRead += rows.length;
      this.position = Math.max(this.position, rows.length < this.pageSize ? latest : Number(rows[rows.length - 1]!.seq));
    }
  }

  /**
   * Applies a notified record. Notifications come in commit order, which is `seq` order: the next number moves the
   * position. After a gap (a revocation rolled back, a notification lost) it stays, and the next `catchUp` reads
   * from it and closes the gap.
   */
  apply(notice: RevocationNotice): void {
    this.list.add(
      revocationOf({
        ...notice,
        revokedBefore: notice.revokedBefore === null ? null : new Date(notice.revokedBefore),
        sessionSignedInAt: typeof notice.sessionSignedInAt === "number" ? new Date(notice.sessionSignedInAt) : null,
        expiresAt: new Date(notice.expiresAt),
      }),
    );
    if (notice.seq > 0 && notice.seq === this.position + 1) this.position = notice.seq;
  }
}

/**
 * A notification's payload as a notice, or null when it is not one. A notice without `seq` (from a replica of the
 * previous release, during a rolling deploy) gets `seq` 0: applied, it does not move the cursor.
 */
export function parseNotice(payload: string): RevocationNotice | null {
  try {
    const notice = JSON.parse(payload) as Partial<RevocationNotice>;
    const ok =
      (notice.seq === undefined || Number.isSafeInteger(notice.seq)) &&
      typeof notice.sub === "string" &&
      typeof notice.expiresAt === "number" &&
      (notice.sessionSignedInAt === undefined || notice.sessionSignedInAt === null || Number.isFinite(notice.sessionSignedInAt)) &&
      (typeof notice.sessionId === "string"
        ? notice.revokedBefore === null
        : notice.sessionId === null && typeof notice.revokedBefore === "number");
    return ok ? ({ seq: 0, ...notice } as RevocationNotice) : null;
  } catch {
    return null;
  }
}
