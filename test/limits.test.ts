import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PERSONAS } from "../src/dev/personas.js";
import { bearer, startApp, type TestApp } from "./helpers/app.js";

/** GraphQL limits: refused before execution with 400 and a message naming the limit; configurable. */
describe("GraphQL limits", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startApp({ GRAPHQL_MAX_DEPTH: "5", GRAPHQL_MAX_ALIASES: "3", GRAPHQL_MAX_DIRECTIVES: "3", GRAPHQL_MAX_TOKENS: "200", GRAPHQL_MAX_COST: "125" });
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
    await expectRefused("{ orders(first: 5) { edges { node { id items { quantity } } } } products { edges { node { id name priceCents stock sku description createdAt updatedAt active } } } }", /cost/i);
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
