import { sql, type RawBuilder } from "kysely";
import { InvalidInputError } from "./errors.js";
import { isStorableText } from "./text.js";

/** A page request: `first` items after the opaque `after` cursor. */
export interface PageArgs {
  readonly first?: number | null;
  readonly after?: string | null;
}

/** The keyset position of a row: newest first by (createdAt, id). */
export interface Position {
  readonly createdAt: Date;
  readonly id: string;
}

export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 20;

export function pageSize(first: number | null | undefined): number {
  const size = first ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE_SIZE) {
    throw new InvalidInputError(`first must be from 1 to ${MAX_PAGE_SIZE}`, "first");
  }
  return size;
}

export function encodeCursor(position: Position): string {
  return Buffer.from(JSON.stringify([position.createdAt.toISOString(), position.id])).toString("base64url");
}

// A cursor is base64url of `["<ISO 8601 instant>","<id>"]`; ids are UUIDs or short seed ids, so this is ample.
const MAX_CURSOR_LENGTH = 512;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
/**
 * The instants a cursor may name: inside PostgreSQL's timestamptz range (4713 BC to 294276 AD) with a day's
 * margin at each end of years 1 to 9999, so that the drivers' local-time rendering of the parameter stays a
 * four-digit year AD whatever the process's time zone. Every row's created_at (from now()) lies inside.
 */
const MIN_INSTANT = Date.parse("0001-01-02T00:00:00.000Z");
const MAX_INSTANT = Date.parse("9999-12-30T23:59:59.999Z");
/** Ids are UUIDs or short seed ids in a text column. */
const MAX_ID_LENGTH = 128;

/**
 * Decodes an `after` cursor made by `encodeCursor`, or `null` when none was given. Every decoded value is
 * checked against its column before it reaches SQL: the instant must be in the canonical form `encodeCursor`
 * writes (`toISOString()`) and inside the range above, and the id a non-empty storable text of at most 128
 * characters. Anything else (a forged, truncated or foreign cursor) throws `InvalidInputError` on `after`,
 * answered as BAD_USER_INPUT.
 */
export function decodeCursor(cursor: string | null | undefined): Position | null {
  if (cursor === null || cursor === undefined) return null;
  const refuse = () => new InvalidInputError("after is not a cursor from this API", "after");
  if (cursor.length > MAX_CURSOR_LENGTH || !BASE64URL.test(cursor)) throw refuse();
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw refuse();
  }
  if (!Array.isArray(decoded) || decoded.length !== 2) throw refuse();
  const [createdAt, id] = decoded as unknown[];
  if (typeof createdAt !== "string" || typeof id !== "string") throw refuse();
  const instant = Date.parse(createdAt);
  if (!(instant >= MIN_INSTANT && instant <= MAX_INSTANT) || new Date(instant).toISOString() !== createdAt) throw refuse();
  if (id === "" || id.length > MAX_ID_LENGTH || !isStorableText(id)) throw refuse();
  return { createdAt: new Date(instant), id };
}

export interface Page<T> {
  readonly rows: readonly T[];
  readonly hasNextPage: boolean;
}

/** Rows were fetched with one extra to learn whether another page follows. */
export function toPage<T>(rows: T[], size: number): Page<T> {
  return { rows: rows.slice(0, size), hasNextPage: rows.length > size };
}

/** Rows strictly after a position in newest-first order: one row-value comparison, served by (created_at, id). */
export function beforePosition(position: Position): RawBuilder<boolean> {
  return sql<boolean>`(created_at, id) < (${position.createdAt}, ${position.id})`;
}
