import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PERSONAS } from "../../../src/dev/personas.js";
import { bearer, startApp, type TestApp } from "../../helpers/app.js";
import { startJwksServer, type JwksServer } from "../../helpers/jwks-server.js";
import { generateRsaKey, jwksOf, TEST_CLIENT_ID, TEST_POOL_ID } from "../../helpers/keys.js";

/** GraphQL limits: refused before execution with 400 and a message naming the limit; configurable. */
describe("GraphQL limits", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startApp({
      GRAPHQL_MAX_DEPTH: "5",
      GRAPHQL_MAX_ALIASES: "3",
      GRAPHQL_MAX_DIRECTIVES: "3",
      GRAPHQL_MAX_TOKENS: "200",
      GRAPHQL_MAX_COST: "125",
    });
  });
  afterAll(() => app.close());

  const expectRefused = async (query: string, message: RegExp) => {
    const before = app.queryCount();
    const response = await app.graphql(query, { headers: bearer(app.devIssuer!.mint(PERSONAS.ada)) });
    expect(response.status, response.text).toBe(400);
    expect(["GRAPHQL_VALIDATION_FAILED", "GRAPHQL_PARSE_FAILED"]).toContain(response.body.errors[0].extensions.code);
    expect(response.body.errors[0].message).toMatch(message);
    expect(response.body.data).toBeUndefined();
    // Refused before execution: not one SQL statement ran.
    expect(app.queryCount()).toBe(before);
  };

  it("allows an ordinary page of orders", async () => {
    const response = await app.graphql("{ orders(first: 5) { edges { node { id items { quantity } } } } }", {
      headers: bearer(app.devIssuer!.mint(PERSONAS.ada)),
    });
    expect(response.status).toBe(200);
    expect(response.body.errors).toBeUndefined();
  });

  it("refuses a query deeper than GRAPHQL_MAX_DEPTH", async () => {
    await expectRefused("{ orders { edges { node { items { product { name } } } } } }", /depth/i);
  });

  it("refuses more aliases than GRAPHQL_MAX_ALIASES", async () => {
    await expectRefused("{ a: me { sub } b: me { sub } c: me { sub } d: me { sub } }", /alias/i);
  });

  it("refuses more directives than GRAPHQL_MAX_DIRECTIVES", async () => {
    await expectRefused("{ me @include(if: true) @include(if: true) @include(if: true) @include(if: true) { sub } }", /directive/i);
  });

  it("refuses a document with more tokens than GRAPHQL_MAX_TOKENS", async () => {
    await expectRefused(`{ me { ${"sub ".repeat(200)} } }`, /token/i);
  });

  it("refuses a query costlier than GRAPHQL_MAX_COST", async () => {
    // The ordinary page alone costs about 123; with the catalogue beside it, about 163.
    await expectRefused(
      "{ orders(first: 5) { edges { node { id items { quantity } } } } products { edges { node { id name priceCents stock sku description createdAt updatedAt active } } } }",
      /cost/i,
    );
  });

  it("refuses batched requests", async () => {
    const response = await app.fetch("/graphql", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify([{ query: "{ me { sub } }" }, { query: "{ me { sub } }" }]),
    });
    expect(response.status).toBe(400);
  });
});

/** The cost limit counts page sizes as the operation will run: literal, from variables, or left at the default. */
describe("the cost limit with variables and defaults (production posture, default GRAPHQL_MAX_COST 5000, anonymous)", () => {
  let app: TestApp;
  let jwks: JwksServer;
  beforeAll(async () => {
    jwks = await startJwksServer(jwksOf(generateRsaKey()));
    app = await startApp(PRODUCTION());
  }, 60_000);
  afterAll(async () => {
    await app.close();
    await jwks.close();
  });
  const PRODUCTION = () => ({
    NODE_ENV: "production",
    COGNITO_USER_POOL_ID: TEST_POOL_ID,
    COGNITO_CLIENT_ID: TEST_CLIENT_ID,
    COGNITO_JWKS_URI: jwks.url,
  });

  // One alias costs (2 + 1.5 x (2 + 1.5 x (2 + 1.5 x 3))) x n = 19.625 n; fifteen cost 294.375 n.
  const aliases = (args: string, count = 15) =>
    Array.from({ length: count }, (_v, i) => `a${i + 1}: products${args} { edges { node { id name priceCents } } }`).join(" ");

  it.each([
    ["15 aliases with first from a variable of 100", `query ($n: Int) { ${aliases("(first: $n)")} }`, { n: 100 }, 29_438],
    ["15 aliases left at the argument's default (20)", `{ ${aliases("")} }`, undefined, 5_888],
    [
      "15 aliases with a variable that is not given (the argument's default applies)",
      `query ($n: Int) { ${aliases("(first: $n)")} }`,
      {},
      5_888,
    ],
    ["15 aliases with a variable's own default of 100", `query ($n: Int = 100) { ${aliases("(first: $n)")} }`, {}, 29_438],
    ["15 aliases with first: null (the server's default page, 20)", `query ($n: Int) { ${aliases("(first: $n)")} }`, { n: null }, 5_888],
    ["3 aliases with a literal first: 100", `{ ${aliases("(first: 100)", 3)} }`, undefined, 5_888],
    [
      "a named fragment with first from a variable",
      "query ($n: Int) { ...P } fragment P on Query { " + aliases("(first: $n)", 3) + " }",
      { n: 100 },
      5_888,
    ],
  ])("refuses %s with 400 before execution", async (_label, query, variables, cost) => {
    const before = app.queryCount();
    const response = await app.graphql(query, { variables });
    expect(response.status, response.text).toBe(400);
    expect(response.body).toEqual({
      errors: [
        {
          message: `The operation costs ${cost}, above the limit of 5000 (GRAPHQL_MAX_COST).`,
          extensions: { code: "GRAPHQL_VALIDATION_FAILED" },
        },
      ],
    });
    expect(app.queryCount()).toBe(before);
  });

  it.each([
    ["15 aliases with first from a variable of 10", `query ($n: Int) { ${aliases("(first: $n)")} }`, { n: 10 }],
    [
      "the expensive aliases skipped by @skip with a variable",
      `query ($n: Int, $s: Boolean!) { a0: products(first: 1) { edges { cursor } } ...P @skip(if: $s) } fragment P on Query { ${aliases("(first: $n)", 14)} }`,
      { n: 100, s: true },
    ],
    ["one page of 100", "query ($n: Int) { products(first: $n) { edges { node { id name priceCents } } } }", { n: 100 }],
  ])("allows %s", async (_label, query, variables) => {
    const response = await app.graphql(query, { variables });
    expect(response.status, response.text).toBe(200);
    expect(response.body.errors).toBeUndefined();
  });

  it("counts nothing for introspection (off in production unless enabled, like here with GRAPHQL_INTROSPECTION)", async () => {
    const introspecting = await startApp({ ...PRODUCTION(), GRAPHQL_INTROSPECTION: "true" });
    try {
      const { getIntrospectionQuery } = await import("graphql");
      const response = await introspecting.graphql(getIntrospectionQuery());
      expect(response.status, response.text.slice(0, 300)).toBe(200);
      expect(response.body.data.__schema.types.length).toBeGreaterThan(10);
    } finally {
      await introspecting.close();
    }
  }, 60_000);

  it("leaves variables that do not coerce to execution, which refuses them with 400", async () => {
    const response = await app.graphql(`query ($n: Int) { ${aliases("(first: $n)")} }`, { variables: { n: "many" } });
    expect(response.status).toBe(400);
    expect(response.body.errors[0].extensions.code).toBe("BAD_USER_INPUT");
  });

  it("refuses a fragment bomb that would take too long to cost", async () => {
    // Three levels of 25 spreads each: 15,625 selections from a document of a few hundred tokens, within the depth limit.
    const spreads = (i: number) => Array.from({ length: 25 }, () => `...F${i}`).join(" ");
    const fragments = Array.from({ length: 3 }, (_v, i) => `fragment F${i} on Query { ${spreads(i + 1)} }`).join(" ");
    const response = await app.graphql(`{ ...F0 } ${fragments} fragment F3 on Query { __typename }`);
    expect(response.status, response.text).toBe(400);
    expect(response.body.errors[0].message).toBe("The operation is too large to cost; it has too many selections.");
  });
});
