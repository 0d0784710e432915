import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { authDirectiveTypeDefs, guardOf } from "../../../src/auth/index.js";
import { buildSchema, SCHEMA_DIR } from "../../../src/graphql/schema.js";
import { isObjectType } from "graphql";

describe("the product schema", () => {
  it("keeps schema/auth.graphql identical to the directive definitions of the auth module", () => {
    const file = readFileSync(join(SCHEMA_DIR, "auth.graphql"), "utf8");
    expect(file.replace(/^#.*\n/, "")).toBe(authDirectiveTypeDefs.trimStart());
  });

  it("builds, with every root field decided", () => {
    const schema = buildSchema();
    const query = schema.getQueryType()!;
    expect(Object.keys(query.getFields())).toContain("me");
    expect(isObjectType(schema.getType("Principal"))).toBe(true);
    // me is @public and returns a @public type: nothing to guard, so nothing is wrapped.
    expect(guardOf(query.getFields().me!)).toBeUndefined();
  });
});
