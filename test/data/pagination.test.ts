import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvalidInputError } from "../../src/data/errors.js";
import { decodeCursor, encodeCursor, pageSize } from "../../src/data/pagination.js";
import { startApp, type TestApp } from "../helpers/app.js";

describe("cursors and page sizes", () => {
  it("round-trips a position through an opaque cursor", () => {
    const position = { createdAt: new Date("2026-11-28T10:00:00.123Z"), id: "ord-1" };
    expect(decodeCursor(encodeCursor(position))).toEqual(position);
    expect(decodeCursor(null)).toBeNull();
  });

  it.each(["garbage", Buffer.from("[1,2]").toString("base64url"), Buffer.from('["not a date","x"]').toString("base64url"), ""])(
    "refuses the cursor %j as bad input",
    (cursor) => {
      expect(() => decodeCursor(cursor)).toThrow(InvalidInputError);
    },
  );

  it("takes 1 to 100 items, 20 by default", () => {
    expect(pageSize(undefined)).toBe(20);
    expect(pageSize(100)).toBe(100);
    for (const bad of [0, 101, -1, 1.5]) expect(() => pageSize(bad)).toThrow(InvalidInputError);
  });
});

describe("paging through the catalogue", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startApp();
  });
  afterAll(() => app.close());

  it("chains pages with endCursor without gaps or repeats", async () => {
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 10; page++) {
      const response = await app.graphql("query ($after: String) { products(first: 2, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } }", {
        variables: { after },
      });
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
