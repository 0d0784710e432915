import { randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { gql } from "@apollo/client";
import { authProblemsOf, createApolloClient, type TokenSource } from "../../../examples/apollo-client.js";
import { MyOrderEventsDocument, PlaceOrderDocument, type MyOrderEventsSubscription } from "../../../src/__generated__/client/graphql.js";
import { PERSONAS, type PersonaName } from "../../../src/dev/personas.js";
import { startApp, type TestApp } from "../../helpers/app.js";
import { eventQueue, waitForSubscriptions } from "../../helpers/events.js";
import { startTcpProxy } from "../../helpers/tcp-proxy.js";

/**
 * The Apollo Client 4 recipe's subscriptions (examples/apollo-client.ts: HTTP link and GraphQLWsLink split by
 * operation type, token refresh on 4401, reconnection for ever) against the real server over real WebSockets.
 * Each test waits on events (the server's subscription count, the next event), never on time.
 */
describe("the Apollo Client 4 recipe's subscriptions", () => {
  let app: TestApp;
  const open: (() => Promise<void>)[] = [];
  beforeAll(async () => {
    app = await startApp({}, { metrics: true });
  }, 120_000);
  afterEach(async () => {
    await Promise.all(open.splice(0).map((dispose) => dispose()));
    await waitForSubscriptions(app, 0);
  });
  afterAll(() => app?.close());

  const fresh = (persona: PersonaName) => app.devIssuer!.mint(PERSONAS[persona]);
  const expired = (persona: PersonaName) =>
    app.devIssuer!.mint({ ...PERSONAS[persona], issuedAt: Math.floor(Date.now() / 1000) - 7200, expiresInSeconds: 3600 });

  /** A session whose refreshes are counted, as Amplify's would be. */
  function session(first: string, refreshed: () => string | null) {
    let token: string | null = first;
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

  /** The recipe's client, with a short backoff so that the tests do not wait seconds for a reconnection. */
  function client(tokens: TokenSource, wsUrl = app.wsUrl) {
    const reconnections = eventQueue<true>();
    const apollo = createApolloClient({
      httpUrl: app.url,
      wsUrl,
      tokens,
      webSocketImpl: WebSocket,
      backoff: { initialMs: 20, maxMs: 200 },
      onReconnected: () => reconnections.push(true),
    });
    open.push(() => apollo.dispose());
    return { ...apollo, reconnections };
  }

  /** Subscribes to MyOrderEvents: its events, and its end (an error) if it ends. */
  function follow(apollo: ReturnType<typeof client>) {
    const events = eventQueue<MyOrderEventsSubscription["myOrderEvents"]>();
    const ended = eventQueue<unknown>();
    apollo.client.subscribe({ query: MyOrderEventsDocument }).subscribe({
      next: (result) => (result.data ? events.push(result.data.myOrderEvents) : ended.push(result.error)),
      error: (error) => ended.push(error),
    });
    return { events, ended };
  }

  async function placeOrder(apollo: ReturnType<typeof client>) {
    const input = { items: [{ productId: "prd-cable", quantity: 1 }], idempotencyKey: randomUUID() };
    const placed = await apollo.client.mutate({ mutation: PlaceOrderDocument, variables: { input } });
    expect(placed.error).toBeUndefined();
    return placed.data!.placeOrder;
  }

  it("delivers a subscription over WebSocket and a mutation over HTTP through one client", async () => {
    const { tokens, counter } = session(fresh("alice"), () => fresh("alice"));
    const alice = client(tokens);
    const { events, ended } = follow(alice);
    await waitForSubscriptions(app, 1);
    const order = await placeOrder(alice);
    expect(await events.next()).toMatchObject({ kind: "PLACED", order: { id: order.id, status: "PENDING" } });
    expect(ended.count()).toBe(0);
    expect(counter.refreshes).toBe(0);
  });

  it("refreshes an expired token once when the server closes with 4401, and subscribes again", async () => {
    const { tokens, counter } = session(expired("alice"), () => fresh("alice"));
    const alice = client(tokens);
    const { events, ended } = follow(alice);
    await waitForSubscriptions(app, 1);
    expect(alice.socket.lastClose()).toEqual({ code: 4401, reason: "Invalid token: TOKEN_EXPIRED" });
    expect(counter.refreshes).toBe(1);
    await alice.reconnections.next();
    const order = await placeOrder(alice);
    expect(await events.next()).toMatchObject({ kind: "PLACED", order: { id: order.id } });
    expect(ended.count()).toBe(0);
  });

  it("ends the subscription when the session cannot be refreshed, without retrying", async () => {
    const { tokens, counter } = session(expired("bob"), () => null);
    const { ended } = follow(client(tokens));
    expect(String(await ended.next())).toContain("4401");
    expect(counter.refreshes).toBe(1);
  });

  it("ends a refused subscription at once: no refresh, no retry", async () => {
    const { tokens, counter } = session(fresh("alice"), () => fresh("alice"));
    const alice = client(tokens);
    const ended = eventQueue<unknown>();
    // Every order's events are for staff, support and orders/read: alice is refused.
    alice.client
      .subscribe({
        query: gql`
          subscription {
            orderEvents {
              kind
            }
          }
        `,
      })
      .subscribe({
        next: (result) => ended.push(result.error),
        error: (error) => ended.push(error),
      });
    expect(authProblemsOf(await ended.next())).toEqual([{ code: "FORBIDDEN", reason: "INSUFFICIENT_PERMISSION", path: undefined }]);
    expect(counter.refreshes).toBe(0);
  });

  it("reconnects for ever after the network is cut and resumes after the last event: nothing missed, nothing twice", async () => {
    const proxy = await startTcpProxy({ host: "127.0.0.1", port: Number(new URL(app.url).port) });
    open.push(() => proxy.close());
    const { tokens } = session(fresh("alice"), () => fresh("alice"));
    const alice = client(tokens, `ws://127.0.0.1:${proxy.port}/graphql`);
    const { events, ended } = follow(alice);
    await waitForSubscriptions(app, 1);
    const first = await placeOrder(alice);
    expect(await events.next()).toMatchObject({ kind: "PLACED", order: { id: first.id } });

    await proxy.cut();
    await waitForSubscriptions(app, 0);
    // Placed while the socket is gone (over HTTP, which does not go through the proxy).
    const missed = await placeOrder(alice);
    const accepted = proxy.accepted();
    await proxy.restore();
    // Resumed after the first order's cursor: the missed event arrives without being asked for again.
    expect(await events.next()).toMatchObject({ kind: "PLACED", order: { id: missed.id } });
    expect(proxy.accepted()).toBeGreaterThan(accepted);
    await waitForSubscriptions(app, 1);
    const after = await placeOrder(alice);
    expect(await events.next()).toMatchObject({ kind: "PLACED", order: { id: after.id } });
    expect(events.count()).toBe(3);
    expect(alice.reconnections.count()).toBe(0);
    expect(ended.count()).toBe(0);
  });
});
