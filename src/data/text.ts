// With the u flag a lone surrogate is a code point of category Cs; a proper pair is one astral code point.
const UNSTORABLE = /[\u0000\p{Cs}]/u;

/**
 * Whether a string can be stored in a PostgreSQL `text` column exactly as given: PostgreSQL refuses U+0000
 * ("invalid byte sequence for encoding UTF8: 0x00"), and a lone surrogate has no UTF-8 form (the drivers would
 * silently store U+FFFD instead, so an idempotency key or an id would change on the way in).
 */
export function isStorableText(value: string): boolean {
  return !UNSTORABLE.test(value);
}

/** The range of PostgreSQL's `integer` columns, which is also GraphQL's `Int` (32-bit signed, spec §3.5.1). */
export const INT32_MIN = -2_147_483_648;
export const INT32_MAX = 2_147_483_647;
