import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvalidInputError } from "../../../src/data/errors.js";
import { decodeCursor, encodeCursor, pageSize } from "../../../src/data/pagination.js";
import { startOperations, type OperationRunner } from "../../helpers/operations.js";

describe("cursors and page sizes", () => {
  it("round-trips a position through an opaque cursor", () => {
    const position = { createdAt: new Date("2026-11-28T10:00:00.123Z"), id: "ord-1" };
    expect(decodeCursor(encodeCursor(position))).toEqual(position);
    expect(decodeCursor(null)).toBeNull();
  });

  const cursorOf = (value: unknown) => Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");
  it.each([
    ["garbage", "garbage"],
    ["numbers", cursorOf([1, 2])],
    ["not a date", cursorOf(["not a date", "x"])],
    ["empty", ""],
    ["year -271821 (JavaScript's earliest instant, before PostgreSQL's range)", cursorOf(["-271821-04-20T00:00:00.000Z", "x"])],
    ["year +275760 (JavaScript's latest instant, after PostgreSQL's range)", cursorOf(["+275760-09-13T00:00:00.000Z", "x"])],
    ["year 10000", cursorOf(["+010000-01-01T00:00:00.000Z", "x"])],
    ["year 0", cursorOf(["0000-06-01T00:00:00.000Z", "x"])],
    ["an instant not in toISOString's form", cursorOf(["2026-11-28", "x"])],
    ["an offset instead of Z", cursorOf(["2026-11-28T10:00:00.000+02:00", "x"])],
    ["an id holding U+0000", cursorOf(["2026-11-28T10:00:00.000Z", "a\u0000b"])],
    ["an id holding a lone surrogate", cursorOf('["2026-11-28T10:00:00.000Z","\\ud800"]')],
    ["an empty id", cursorOf(["2026-11-28T10:00:00.000Z", ""])],
    ["a 129-character id", cursorOf(["2026-11-28T10:00:00.000Z", "x".repeat(129)])],
    ["an id that is not a string", cursorOf(["2026-11-28T10:00:00.000Z", 7])],
    ["three values", cursorOf(["2026-11-28T10:00:00.000Z", "x", "y"])],
    ["an object", cursorOf({ createdAt: "2026-11-28T10:00:00.000Z", id: "x" })],
    ["standard base64 characters", cursorOf(["2026-11-28T10:00:00.000Z", "x"]) + "+/"],
    ["padding", cursorOf(["2026-11-28T10:00:00.000Z", "x"]) + "=="],
    ["an overlong cursor", "A".repeat(513)],
  ])("refuses a cursor with %s as bad input on after", (_label, cursor) => {
    let thrown: unknown;
    try {
      decodeCursor(cursor);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InvalidInputError);
    expect((thrown as InvalidInputError).field).toBe("after");
  });

  it("accepts the first and last instants of its range", () => {
    for (const instant of ["0001-01-02T00:00:00.000Z", "9999-12-30T23:59:59.999Z"]) {
      expect(decodeCursor(cursorOf([instant, "x"]))).toEqual({ createdAt: new Date(instant), id: "x" });
    }
  });

  it("takes 1 to 100 items, 20 by default", () => {
    expect(pageSize(undefined)).toBe(20);
    expect(pageSize(100)).toBe(100);
    for (const bad of [0, 101, -1, 1.5]) expect(() => pageSize(bad)).toThrow(InvalidInputError);
  });
});

describe("paging through the catalogue", () => {
  let app: OperationRunner;
  beforeAll(async () => {
    app = await startOperations();
  });
  afterAll(() => app.close());

  it("chains pages with endCursor without gaps or repeats", async () => {
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 10; page++) {
      const response = await app.graphql(
        "query ($after: String) { products(first: 2, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } }",
        {
          variables: { after },
        },
      );
      const { edges, pageInfo } = response.body.data.products;
      seen.push(...edges.map((e: { node: { id: string } }) => e.node.id));
      if (!pageInfo.hasNextPage) break;
      after = pageInfo.endCursor;
    }
    const all = await app.db.selectFrom("products").select("id").where("active", "=", true).execute();
    expect(seen).toHaveLength(all.length);
    expect(new Set(seen)).toEqual(new Set(all.map((p) => p.id)));
  });
});
