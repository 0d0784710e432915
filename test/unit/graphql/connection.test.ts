import { describe, expect, it } from "vitest";
import { encodeCursor, type Position } from "../../../src/data/pagination.js";
import { toConnection } from "../../../src/graphql/connection.js";

const row = (id: string, iso: string): Position => ({ id, createdAt: new Date(iso) });

describe("toConnection", () => {
  it("gives each edge its row and the row's cursor, and the last row's cursor as endCursor", () => {
    const rows = [row("b", "2026-12-06T10:00:00.000Z"), row("a", "2026-12-06T09:00:00.000Z")];
    const connection = toConnection({ rows, hasNextPage: true });
    expect(connection.edges.map((edge) => [edge.node, edge.cursor])).toEqual(rows.map((r) => [r, encodeCursor(r)]));
    expect(connection.pageInfo).toEqual({ hasNextPage: true, endCursor: encodeCursor(rows[1]!) });
  });

  it("answers an empty page with no edges and a null endCursor", () => {
    expect(toConnection({ rows: [], hasNextPage: false })).toEqual({ edges: [], pageInfo: { hasNextPage: false, endCursor: null } });
  });

  it("encodes an edge's cursor only when it is read", () => {
    // A row whose cursor cannot be encoded: building the connection must not touch it, reading its cursor must.
    const unencodable = { id: "x", createdAt: new Date(Number.NaN) };
    const connection = toConnection({ rows: [unencodable, row("a", "2026-12-06T09:00:00.000Z")], hasNextPage: false });
    expect(connection.edges[0]!.node).toBe(unencodable);
    expect(() => connection.edges[0]!.cursor).toThrow(RangeError);
  });
});
