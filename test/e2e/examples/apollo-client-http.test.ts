import { randomUUID } from "node:crypto";
import { CombinedGraphQLErrors, type ApolloClient } from "@apollo/client";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { authProblemsOf, createApolloClient, type TokenSource } from "../../../examples/apollo-client.js";
import {
  CreateProductDocument,
  MeDocument,
  MyOrdersDocument,
  OrderDocument,
  PlaceOrderDocument,
} from "../../../src/__generated__/client/graphql.js";
import { PERSONAS, type PersonaName } from "../../../src/dev/personas.js";
import { startApp, type TestApp } from "../../helpers/app.js";

/**
 * The Apollo Client 4 recipe (examples/apollo-client.ts) over HTTP against the real server in dev mode, with the
 * same typed documents as the urql example. `npm run typecheck` checks the result types. Its subscriptions:
 * apollo-client-subscriptions.test.ts.
 */
describe("the Apollo Client 4 recipe over HTTP", () => {
  let app: TestApp;
  const open: (() => Promise<void>)[] = [];
  beforeAll(async () => {
    app = await startApp();
  }, 120_000);
  afterEach(async () => {
    await Promise.all(open.splice(0).map((dispose) => dispose()));
  });
  afterAll(() => app?.close());

  /** The recipe's client for this server (its socket is opened only by a subscription). */
  const createApolloApiClient = (url: string, tokens: TokenSource): ApolloClient => {
    const apollo = createApolloClient({ httpUrl: url, wsUrl: app.wsUrl, tokens, webSocketImpl: WebSocket });
    open.push(() => apollo.dispose());
    return apollo.client;
  };

  const fresh = (persona: PersonaName) => app.devIssuer!.mint(PERSONAS[persona]);
  // Issued two hours ago for one hour: expired well beyond the server's 30 s leeway.
  const expired = (persona: PersonaName) =>
    app.devIssuer!.mint({ ...PERSONAS[persona], issuedAt: Math.floor(Date.now() / 1000) - 7200, expiresInSeconds: 3600 });

  /** A session whose token can be swapped and whose refreshes are counted, as Amplify's would be. */
  function session(first: string | null, refreshed: () => string | null) {
    let token = first;
    const counter = { refreshes: 0 };
    const tokens: TokenSource = {
      current: () => token,
      refresh: async () => {
        counter.refreshes++;
        token = refreshed();
        return token;
      },
    };
    return { tokens, counter };
  }

  it("reads typed data with the current token", async () => {
    const { tokens, counter } = session(fresh("sam"), () => fresh("sam"));
    const client = createApolloApiClient(app.url, tokens);
    const result = await client.query({ query: MeDocument });
    expect(result.error).toBeUndefined();
    expect(result.data?.me).toMatchObject({ username: "sam", kind: "USER", groups: ["support"] });
    expect(counter.refreshes).toBe(0);
  });

  it("refreshes an expired token once and retries the operation", async () => {
    const { tokens, counter } = session(expired("alice"), () => fresh("alice"));
    const client = createApolloApiClient(app.url, tokens);
    const result = await client.query({ query: MyOrdersDocument, variables: { first: 5 } });
    expect(result.error).toBeUndefined();
    expect(result.data?.myOrders.edges.length).toBeGreaterThan(0);
    expect(counter.refreshes).toBe(1);
    // Mutations too: the retried placeOrder is placed once.
    const stale = session(expired("alice"), () => fresh("alice"));
    const input = { items: [{ productId: "prd-cable", quantity: 1 }], idempotencyKey: randomUUID() };
    const placed = await createApolloApiClient(app.url, stale.tokens).mutate({ mutation: PlaceOrderDocument, variables: { input } });
    expect(placed.data?.placeOrder.status).toBe("PENDING");
    expect(stale.counter.refreshes).toBe(1);
  });

  it("retries only once: a refresh that brings another expired token ends with TOKEN_EXPIRED", async () => {
    const { tokens, counter } = session(expired("alice"), () => expired("alice"));
    const result = await createApolloApiClient(app.url, tokens).query({ query: MeDocument });
    expect(counter.refreshes).toBe(1);
    expect(result.data).toBeUndefined();
    expect(CombinedGraphQLErrors.is(result.error)).toBe(true);
    expect(authProblemsOf(result.error)).toEqual([{ code: "UNAUTHENTICATED", reason: "TOKEN_EXPIRED", path: undefined }]);
  });

  it("hands over the original error when the session is over (refresh gives no token)", async () => {
    const { tokens, counter } = session(expired("bob"), () => null);
    const result = await createApolloApiClient(app.url, tokens).query({ query: MeDocument });
    expect(counter.refreshes).toBe(1);
    expect(authProblemsOf(result.error)).toEqual([{ code: "UNAUTHENTICATED", reason: "TOKEN_EXPIRED", path: undefined }]);
  });

  it("does not refresh for other refusals: a token that is not valid, a missing group", async () => {
    const forged = `${fresh("alice").slice(0, -4)}AAAA`;
    const bad = session(forged, () => fresh("alice"));
    const invalid = await createApolloApiClient(app.url, bad.tokens).query({ query: MeDocument });
    expect(authProblemsOf(invalid.error)).toEqual([{ code: "UNAUTHENTICATED", reason: "TOKEN_SIGNATURE_INVALID", path: undefined }]);
    const customer = session(fresh("alice"), () => fresh("alice"));
    const input = { sku: `AP-${randomUUID().slice(0, 8)}`, name: "x", priceCents: 1, costPriceCents: 1, stock: 1 };
    const refused = await createApolloApiClient(app.url, customer.tokens).mutate({ mutation: CreateProductDocument, variables: { input } });
    // The server answers data: null for a mutation refused whole; Apollo hands that over as no data.
    expect(refused.data).toBeUndefined();
    expect(authProblemsOf(refused.error)).toEqual([{ code: "FORBIDDEN", reason: "INSUFFICIENT_PERMISSION", path: undefined }]);
    expect(bad.counter.refreshes + customer.counter.refreshes).toBe(0);
  });

  it("keeps a partial result: the allowed fields, the denied one null with its error", async () => {
    const alice = createApolloApiClient(app.url, session(fresh("alice"), () => fresh("alice")).tokens);
    const input = { items: [{ productId: "prd-cable", quantity: 1 }], idempotencyKey: randomUUID() };
    const order = (await alice.mutate({ mutation: PlaceOrderDocument, variables: { input } })).data!.placeOrder;
    const stella = createApolloApiClient(app.url, session(fresh("stella"), () => fresh("stella")).tokens);
    const read = await stella.query({ query: OrderDocument, variables: { id: order.id } });
    expect(read.data?.order).toMatchObject({ id: order.id, status: "PENDING", customerEmail: null });
    expect(authProblemsOf(read.error)).toEqual([
      { code: "FORBIDDEN", reason: "INSUFFICIENT_PERMISSION", path: ["order", "customerEmail"] },
    ]);
  });

  it("lets a visitor browse and tells it to sign in for its orders", async () => {
    const visitor = createApolloApiClient(app.url, session(null, () => null).tokens);
    expect((await visitor.query({ query: MeDocument })).data?.me).toBeNull();
    const mine = await visitor.query({ query: MyOrdersDocument, variables: {} });
    expect(authProblemsOf(mine.error)).toEqual([{ code: "UNAUTHENTICATED", reason: "AUTHENTICATION_REQUIRED", path: ["myOrders"] }]);
  });
});
