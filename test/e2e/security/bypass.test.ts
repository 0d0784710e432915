import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PERSONAS, type PersonaName } from "../../../src/dev/personas.js";
import { bearer, startApp, type TestApp } from "../../helpers/app.js";

/**
 * Attempts to reach protected data or writes through GraphQL itself, against the orders schema with the dev
 * personas: other paths, aliases, fragments, __typename probes, directives, batching, CSRF, subscriptions.
 */
let app: TestApp;
beforeAll(async () => {
  app = await startApp();
});
afterAll(() => app.close());

const as = (persona: PersonaName) => bearer(app.devIssuer!.mint(PERSONAS[persona]));
/** A checksum over every row of every table: equal before and after means nothing was written. */
async function checksum(): Promise<string> {
  const rows = await Promise.all([
    app.db.selectFrom("products").selectAll().orderBy("id").execute(),
    app.db.selectFrom("customers").selectAll().orderBy("sub").execute(),
    app.db.selectFrom("orders").selectAll().orderBy("id").execute(),
    app.db.selectFrom("orderItems").selectAll().orderBy("id").execute(),
  ]);
  return createHash("sha256").update(JSON.stringify(rows)).digest("hex");
}

describe("reading what the rules protect", () => {
  it.each([
    // Another customer's order is answered as no order at all (test/e2e/security/refusals.test.ts), so
    // these probe the staff-only note of alice's own order.
    [
      "two aliases of a denied field",
      '{ a: order(id: "ord-alice-1") { internalNote } b: order(id: "ord-alice-1") { internalNote } }',
      ["a.internalNote", "b.internalNote"],
    ],
    ["a named fragment", '{ order(id: "ord-alice-1") { ...F } } fragment F on Order { internalNote }', ["order.internalNote"]],
    ["an inline fragment", '{ order(id: "ord-alice-1") { ... on Order { internalNote } } }', ["order.internalNote"]],
    [
      "internalNote through the customer's own list",
      "{ myOrders { edges { node { internalNote } } } }",
      ["myOrders.edges.0.node.internalNote"],
    ],
    [
      "costPriceCents through an order's items",
      "{ myOrders { edges { node { items { product { costPriceCents } } } } } }",
      ["myOrders.edges.0.node.items.0.product.costPriceCents"],
    ],
    ["the whole list of orders", "{ orders { edges { node { id } } } }", ["orders"]],
  ])("refuses %s to alice, naming each path", async (_label, query, paths) => {
    const response = await app.graphql(query, { headers: as("alice") });
    expect(response.status).toBe(200);
    expect(response.body.errors.map((e: { path: (string | number)[] }) => e.path.join("."))).toEqual(paths);
    expect(response.body.errors.every((e: { extensions: { code: string } }) => e.extensions.code === "FORBIDDEN")).toBe(true);
    expect(response.text).not.toContain("Gift wrap requested");
    expect(response.text).not.toContain("bob@example.com");
  });

  it("decides @include and @skip as execution does, with variables", async () => {
    const query = 'query ($show: Boolean!) { me { sub } order(id: "ord-alice-1") { id internalNote @include(if: $show) } }';
    const hidden = await app.graphql(query, { headers: as("alice"), variables: { show: false } });
    expect(hidden.body).toEqual({ data: { me: { sub: PERSONAS.alice.sub }, order: { id: "ord-alice-1" } } });
    const shown = await app.graphql(query, { headers: as("alice"), variables: { show: true } });
    expect(shown.body.errors[0].extensions.code).toBe("FORBIDDEN");
  });
});

describe("writing what the rules protect", () => {
  it.each([
    ["a denied root field", "alice", 'mutation { updateOrderStatus(id: "ord-alice-1", status: PAID) { id } }', 403],
    [
      "a denied field in the result selection",
      "alice",
      'mutation { placeOrder(input: { idempotencyKey: "b-1", items: [{ productId: "prd-cable", quantity: 1 }] }) { id internalNote } }',
      403,
    ],
    [
      "a denied field hidden in a fragment",
      "alice",
      'mutation { placeOrder(input: { idempotencyKey: "b-2", items: [{ productId: "prd-cable", quantity: 1 }] }) { ...N } } fragment N on Order { internalNote }',
      403,
    ],
    [
      "an allowed field followed by a denied one",
      "stella",
      'mutation { a: updateOrderStatus(id: "ord-alice-1", status: PAID) { id } b: createProduct(input: { sku: "B-1", name: "x", priceCents: 1, costPriceCents: 1, stock: 1 }) { id } }',
      403,
    ],
    [
      "an anonymous mutation",
      null,
      'mutation { placeOrder(input: { idempotencyKey: "b-3", items: [{ productId: "prd-cable", quantity: 1 }] }) { id } }',
      401,
    ],
  ])("refuses %s whole, writing nothing", async (_label, persona, query, status) => {
    const before = await checksum();
    const response = await app.graphql(query, { headers: persona ? as(persona as PersonaName) : {} });
    expect(response.status, response.text).toBe(status);
    expect(response.body.data).toBeUndefined();
    expect(await checksum()).toBe(before);
  });

  const mutation = JSON.stringify({
    query: 'mutation { createProduct(input: { sku: "CSRF-1", name: "x", priceCents: 1, costPriceCents: 1, stock: 1 }) { id } }',
  });

  it.each([
    ["text/plain", "text/plain"],
    ["a form", "application/x-www-form-urlencoded"],
  ])("refuses a %s POST (CSRF), writing nothing", async (_label, contentType) => {
    const before = await checksum();
    const response = await app.fetch("/graphql", {
      method: "POST",
      headers: { ...as("ada"), "content-type": contentType },
      body: mutation,
    });
    expect(response.status).toBe(400);
    expect(await checksum()).toBe(before);
  });

  it("refuses a mutation over GET, and a GET query without a preflight header", async () => {
    const before = await checksum();
    const asGet = await app.fetch(`/graphql?query=${encodeURIComponent(JSON.parse(mutation).query)}`, {
      headers: { ...as("ada"), "apollo-require-preflight": "1" },
    });
    expect(asGet.status).toBe(405);
    const simpleGet = await app.fetch(`/graphql?query=${encodeURIComponent("{ me { sub } }")}`);
    expect(simpleGet.status).toBe(400);
    expect(await checksum()).toBe(before);
  });

  it("refuses a batch of operations in one request", async () => {
    const before = await checksum();
    const response = await app.fetch("/graphql", {
      method: "POST",
      headers: { ...as("ada"), "content-type": "application/json" },
      body: `[${mutation},${mutation}]`,
    });
    expect(response.status).toBe(400);
    expect(await checksum()).toBe(before);
  });

  it("refuses a subscription over HTTP (subscriptions run over WebSocket only), running nothing", async () => {
    const response = await app.graphql("subscription { orderEvents { order { id customerEmail } } }", { headers: as("alice") });
    expect(response.status).toBe(400);
    expect(response.body.errors[0]).toMatchObject({
      message: expect.stringMatching(/WebSocket/),
      extensions: { code: "GRAPHQL_VALIDATION_FAILED" },
    });
    expect(response.body.data).toBeUndefined();
  });
});

describe("stack traces in dev mode: for unexpected errors only", () => {
  const hasStack = (response: { body: { errors?: { extensions?: Record<string, unknown> }[] } }) =>
    (response.body.errors ?? []).map((e) => e.extensions?.stacktrace !== undefined);

  it.each([
    ["a field denied to an anonymous caller", '{ order(id: "ord-bob-1") { id } }', null, 200],
    ["a field denied to a signed-in caller", "{ orders { edges { cursor } } }", "alice", 200],
    ["a mutation refused whole", 'mutation { updateOrderStatus(id: "ord-alice-1", status: PAID) { id } }', "alice", 403],
    ["bad input from the data layer", "{ products(first: 0) { edges { cursor } } }", null, 200],
    ["a forged cursor", '{ products(after: "eyJ4IjoxfQ") { edges { cursor } } }', null, 200],
    ["a variable of the wrong type", "query ($n: Int) { products(first: $n) { edges { cursor } } }", null, 400],
    ["a validation error", "{ products { nope } }", null, 400],
    ["a syntax error", "{ products { ", null, 400],
  ])("%s carries none", async (_label, query, persona, status) => {
    const variables = query.includes("$n") ? { n: "many" } : undefined;
    const response = await app.graphql(query, { headers: persona ? as(persona as PersonaName) : {}, variables });
    expect(response.status, response.text).toBe(status);
    expect(hasStack(response).length).toBeGreaterThan(0);
    expect(
      hasStack(response).every((s) => !s),
      response.text,
    ).toBe(true);
  });

  it("a refused token carries none", async () => {
    for (const authorization of ["Bearer not.a.token", "Basic x"]) {
      const response = await app.graphql("{ me { sub } }", { headers: { authorization } });
      expect([400, 401]).toContain(response.status);
      expect(hasStack(response)).toEqual([false]);
    }
  });

  it("an unexpected error keeps its stack trace in dev mode", async () => {
    const { makeExecutableSchema } = await import("@graphql-tools/schema");
    const { applyAuthDirectives, authDirectiveTypeDefs } = await import("../../../src/auth/index.js");
    const schema = applyAuthDirectives(
      makeExecutableSchema({
        typeDefs: [authDirectiveTypeDefs, "type Query @public { boom: String }"],
        resolvers: {
          Query: {
            boom: () => {
              throw new Error("boom");
            },
          },
        },
      }),
    );
    const boom = await startApp({}, { schema });
    try {
      const response = await boom.graphql("{ boom }");
      expect(response.body.errors[0].extensions.code).toBe("INTERNAL_SERVER_ERROR");
      expect(hasStack(response)).toEqual([true]);
    } finally {
      await boom.close();
    }
  }, 60_000);
});
