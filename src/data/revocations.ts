import type { Db } from "./database.js";
import { publish } from "./notifications.js";
import type { RevocationRow } from "./tables.js";

/** The `LISTEN`/`NOTIFY` channel on which a committed revocation reaches every replica. */
export const REVOCATIONS_CHANNEL = "revocations";

export interface NewRevocation {
  readonly sub: string;
  /** One session (Cognito's `origin_jti`); or else `revokedBefore`. */
  readonly sessionId?: string;
  /** Every session signed in before this moment; or else `sessionId`. */
  readonly revokedBefore?: Date;
  readonly expiresAt: Date;
  readonly revokedBy: string;
  readonly cognitoSignedOut: boolean;
}

/** What a notification on `REVOCATIONS_CHANNEL` carries: the record's matching part, times in ms since the epoch. */
export interface RevocationNotice {
  readonly sub: string;
  readonly sessionId: string | null;
  readonly revokedBefore: number | null;
  readonly expiresAt: number;
}

/**
 * Stores a revocation and announces it on `REVOCATIONS_CHANNEL`, both through `db`: inside a mutation operation's
 * transaction, the record and its notification exist only once the operation commits. Throws on database failure.
 */
export async function recordRevocation(db: Db, revocation: NewRevocation): Promise<RevocationRow> {
  const row = await db
    .insertInto("revocations")
    .values({
      sub: revocation.sub,
      sessionId: revocation.sessionId ?? null,
      revokedBefore: revocation.revokedBefore ?? null,
      expiresAt: revocation.expiresAt,
      revokedBy: revocation.revokedBy,
      cognitoSignedOut: revocation.cognitoSignedOut,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  await publish(db, REVOCATIONS_CHANNEL, JSON.stringify(noticeOf(row)));
  return row;
}

export const noticeOf = (row: RevocationRow): RevocationNotice => ({
  sub: row.sub,
  sessionId: row.sessionId,
  revokedBefore: row.revokedBefore?.getTime() ?? null,
  expiresAt: row.expiresAt.getTime(),
});

/** Every revocation that has not expired, oldest first. */
export async function activeRevocations(db: Db): Promise<RevocationRow[]> {
  return db.selectFrom("revocations").selectAll().where("expiresAt", ">", new Date()).orderBy("id").execute();
}

/** Deletes the revocations that expired (no token they match can be accepted any more); returns how many. */
export async function deleteExpiredRevocations(db: Db): Promise<number> {
  const result = await db.deleteFrom("revocations").where("expiresAt", "<=", new Date()).executeTakeFirst();
  return Number(result.numDeletedRows);
}
