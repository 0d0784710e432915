import { createHash } from "node:crypto";
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

const noticeOf = (row: RevocationRow): RevocationNotice => ({
  sub: row.sub,
  sessionId: row.sessionId,
  revokedBefore: row.revokedBefore?.getTime() ?? null,
  expiresAt: row.expiresAt.getTime(),
});

/** Every revocation that has not expired (by the database's clock), oldest first, and their `digestOf`. */
export async function activeRevocations(db: Db): Promise<{ rows: RevocationRow[]; digest: string }> {
  const rows = await db.selectFrom("revocations").selectAll().where("expiresAt", ">", sql<Date>`now()`).orderBy("id").execute();
  return { rows, digest: digestOf(rows.map((row) => row.id)) };
}

/**
 * A fingerprint of the set of unexpired revocations, computed in the database: one row, however many records, so
 * a periodic reload that finds nothing new costs almost nothing. Equal to `digestOf` their ids.
 */
export async function activeRevocationsDigest(db: Db): Promise<string> {
  const { rows } = await sql<{ digest: string }>`select md5(coalesce(string_agg(id::text, ',' order by id), '')) as digest from revocations where expires_at > now()`.execute(db);
  return rows[0]!.digest;
}

/** The fingerprint of revocation ids (decimal strings, ascending), as `activeRevocationsDigest` computes it. */
export const digestOf = (ids: readonly string[]) => createHash("md5").update(ids.join(",")).digest("hex");

/** Deletes the revocations that expired (no token they match can be accepted any more); returns how many. */
export async function deleteExpiredRevocations(db: Db): Promise<number> {
  const result = await db.deleteFrom("revocations").where("expiresAt", "<=", new Date()).executeTakeFirst();
  return Number(result.numDeletedRows);
}
