import { sql, type RawBuilder } from "kysely";
import { InvalidInputError } from "./errors.js";

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

export function decodeCursor(cursor: string | null | undefined): Position | null {
  if (cursor === null || cursor === undefined) return null;
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as unknown[];
    const date = new Date(createdAt as string);
    if (typeof id !== "string" || typeof createdAt !== "string" || Number.isNaN(date.getTime())) throw new Error();
    return { createdAt: date, id };
  } catch {
    throw new InvalidInputError("after is not a cursor from this API", "after");
  }
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
