import { encodeCursor, type Page, type Position } from "../data/pagination.js";

/**
 * One edge of a connection, its cursor encoded only when a query selects `cursor`: most pages are read for their
 * nodes and `pageInfo.endCursor` alone, and encoding every row's cursor up front was a measurable part of an orders
 * page (docs/performance.md, "Measurements behind code choices").
 */
class Edge<T extends Position> {
  constructor(readonly node: T) {}

  /** The edge's opaque cursor (`encodeCursor` of its row). */
  get cursor(): string {
    return encodeCursor(this.node);
  }
}

/** A keyset page as a Relay-style connection; `pageInfo.endCursor` is the last row's cursor, `null` for no rows. */
export function toConnection<T extends Position>(page: Page<T>) {
  const last = page.rows.at(-1);
  return {
    edges: page.rows.map((node) => new Edge(node)),
    pageInfo: { hasNextPage: page.hasNextPage, endCursor: last === undefined ? null : encodeCursor(last) },
  };
}
