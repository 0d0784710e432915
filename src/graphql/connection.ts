import { encodeCursor, type Page, type Position } from "../data/pagination.js";

/** A keyset page as a Relay-style connection. */
export function toConnection<T extends Position>(page: Page<T>) {
  const edges = page.rows.map((node) => ({ cursor: encodeCursor(node), node }));
  return { edges, pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null } };
}
