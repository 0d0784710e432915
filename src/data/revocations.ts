import { sql } from "kysely";
import type { Db } from "./database.js";
import { publish } from "./notifications.js";
import type { RevocationRow } from "./tables.js";

/** The `LISTEN`/`NOTIFY` channel on which a committed revocation reaches every replica. */
export const REVOCATIONS_CHANNEL = "revocations";

export interface NewRevocation {
  readonly sub: string;
  /** One session (Cognito's `origin_jti`); or else `revokedBefore`. */
  readonly sessionId?: string;
  /** With `sessionId`: the session's sign-in (`auth_time`), matched too (refresh-token rotation). */
  readonly sessionSignedInAt?: Date | null;
  /** Every session signed in before this moment; or else `sessionId`. */
  readonly revokedBefore?: Date;
  readonly expiresAt: Date;
  readonly revokedBy: string;
  readonly cognitoSignedOut: boolean;
}

/**
 * What a notification on `REVOCATIONS_CHANNEL` carries: the record's matching part, times in ms since the epoch,
 * and its `seq` (the sync cursor), so a replica that heard every record before it need not read it again.
 */
export interface RevocationNotice {
  readonly seq: number;
  readonly sub: string;
  readonly sessionId: string | null;
  readonly revokedBefore: number | null;
  /** Absent in notices of a replica of an earlier release. */
  readonly sessionSignedInAt?: number | null;
  readonly expiresAt: number;
}

/** The columns a replica reads: what a record matches, until when, and its cursor. */
export type SyncedRevocation = Pick<RevocationRow, "seq" | "sub" | "sessionId" | "revokedBefore" | "sessionSignedInAt" | "expiresAt">;

/**
 * Stores a revocation and announces it on `REVOCATIONS_CHANNEL`, both through `db`: inside a mutation operation's
 * transaction, the record and its notification exist only once the operation commits. The insert takes the
 * table's write lock (see the cursor migration) until that commit. Throws on database failure.
 */
export async function recordRevocation(db: Db, revocation: NewRevocation): Promise<RevocationRow> {
  const row = await db
    .insertInto("revocations")
    .values({
      sub: revocation.sub,
      sessionId: revocation.sessionId ?? null,
      revokedBefore: revocation.revokedBefore ?? null,
      sessionSignedInAt: revocation.sessionId === undefined ? null : (revocation.sessionSignedInAt ?? null),
      expiresAt: revocation.expiresAt,
      revokedBy: revocation.revokedBy,
      cognitoSignedOut: revocation.cognitoSignedOut,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  await publish(db, REVOCATIONS_CHANNEL, JSON.stringify(noticeOf(row)));
  return row;
}

const noticeOf = (row: RevocationRow): RevocationNotice => ({
  seq: Number(row.seq),
  sub: row.sub,
  sessionId: row.sessionId,
  revokedBefore: row.revokedBefore?.getTime() ?? null,
  sessionSignedInAt: row.sessionSignedInAt?.getTime() ?? null,
  expiresAt: row.expiresAt.getTime(),
});

/**
 * The highest `seq` committed so far (0 for an empty table): the "anything new?" of a reload, one lookup at the
 * end of the `seq` index whatever the table holds. Every record with a lower `seq` is committed or never will be.
 */
export async function latestRevocationSeq(db: Db): Promise<number> {
  const row = await db
    .selectFrom("revocations")
    .select((eb) => eb.fn.max("seq").as("latest"))
    .executeTakeFirst();
  return Number(row?.latest ?? 0);
}

/**
 * Up to `limit` unexpired records (by the database's clock) with `after < seq <= upTo`, in `seq` order: one page of
 * a keyset walk along the `seq` index, so reading k new records costs O(k) rows however many are stored.
 */
export async function revocationsAfter(db: Db, after: number, upTo: number, limit: number): Promise<SyncedRevocation[]> {
  return db
    .selectFrom("revocations")
    .select(["seq", "sub", "sessionId", "revokedBefore", "sessionSignedInAt", "expiresAt"])
    .where("seq", ">", String(after))
    .where("seq", "<=", String(upTo))
    .where("expiresAt", ">", sql<Date>`now()`)
    .orderBy("seq")
    .limit(limit)
    .execute();
}

/** Deletes the revocations that expired (no token they match can be accepted any more); returns how many. */
export async function deleteExpiredRevocations(db: Db): Promise<number> {
  const result = await db.deleteFrom("revocations").where("expiresAt", "<=", new Date()).executeTakeFirst();
  return Number(result.numDeletedRows);
}
