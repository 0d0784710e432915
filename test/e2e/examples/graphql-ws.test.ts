import { randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { createSubscriptionSocket, subscribeForEver, type TokenSource } from "../../../examples/graphql-ws.js";
import { MyOrderEventsDocument, type MyOrderEventsSubscription } from "../../../src/__generated__/client/graphql.js";
import { PERSONAS } from "../../../src/dev/personas.js";
import { bearer, startApp, type TestApp } from "../../helpers/app.js";
import { eventQueue, waitForSubscriptions } from "../../helpers/events.js";
import { startTcpProxy } from "../../helpers/tcp-proxy.js";

/**
 * The plain graphql-ws recipe (examples/graphql-ws.ts) against the real server: a subscription that lives through
 * its token's expiry (the server closes with 4401 `Token expired`, the recipe refreshes and subscribes again), and
 * one that ends for good. The server runs without clock leeway so that a token can expire during the test.
 */
describe("the graphql-ws recipe", () => {
  let app: TestApp;
  const open: (() => Promise<void>)[] = [];
  beforeAll(async () => {
    app = await startApp({ AUTH_CLOCK_SKEW_SECONDS: "0" }, { metrics: true });
  }, 120_000);
  afterEach(async () => {
    await Promise.all(open.splice(0).map((dispose) => dispose()));
    await waitForSubscriptions(app, 0);
  });
  afterAll(() => app?.close());

  function socketFor(tokens: TokenSource, options: { url?: string; reconnect?: "socket" | "subscription" } = {}) {
    const socket = createSubscriptionSocket({
      url: options.url ?? app.wsUrl,
      tokens,
      webSocketImpl: WebSocket,
      backoff: { initialMs: 20, maxMs: 200 },
      reconnect: options.reconnect,
    });
    open.push(() => socket.dispose());
    return socket;
  }

  async function placeOrder() {
    const input = { items: [{ productId: "prd-cable", quantity: 1 }], idempotencyKey: randomUUID() };
    const placed = await app.graphql("mutation ($input: PlaceOrderInput!) { placeOrder(input: $input) { id } }", {
      headers: bearer(app.devIssuer!.mint(PERSONAS.alice)),
      variables: { input },
    });
    expect(placed.body.errors).toBeUndefined();
    return placed.body.data.placeOrder.id as string;
  }

  it("keeps a subscription through the token's expiry: refresh on 4401 Token expired, subscribe again, deliver", async () => {
    // A token that expires two seconds from now; the refreshed one lasts an hour.
    let token = app.devIssuer!.mint({ ...PERSONAS.alice, expiresInSeconds: 2 });
    const refreshes = eventQueue<true>();
    const tokens: TokenSource = {
      current: () => token,
      refresh: async () => {
        refreshes.push(true);
        token = app.devIssuer!.mint(PERSONAS.alice);
        return token;
      },
    };
    const socket = socketFor(tokens);
    const events = eventQueue<MyOrderEventsSubscription["myOrderEvents"]>();
    const resubscribed = eventQueue<true>();
    const ended = eventQueue<unknown>();
    const subscription = subscribeForEver(socket, MyOrderEventsDocument, undefined, {
      onEvent: (event) => events.push(event.data!.myOrderEvents),
      onEnd: (error) => ended.push(error),
      onReconnected: () => resubscribed.push(true),
    });
    open.push(async () => subscription.stop());
    await waitForSubscriptions(app, 1);
    const before = await placeOrder();
    expect(await events.next()).toMatchObject({ kind: "PLACED", order: { id: before } });

    await refreshes.next();
    expect(socket.lastClose()).toEqual({ code: 4401, reason: "Token expired" });
    await resubscribed.next();
    await waitForSubscriptions(app, 1);
    const after = await placeOrder();
    expect(await events.next()).toMatchObject({ kind: "PLACED", order: { id: after } });
    expect(refreshes.count()).toBe(1);
    expect(ended.count()).toBe(0);
  });

  it("ends for good when the token was revoked: no refresh", async () => {
    const token = app.devIssuer!.mint(PERSONAS.bob);
    let refreshed = 0;
    const socket = socketFor({
      current: () => token,
      refresh: async () => {
        refreshed++;
        return null;
      },
    });
    const ended = eventQueue<unknown>();
    const subscription = subscribeForEver(socket, MyOrderEventsDocument, undefined, {
      onEvent: () => undefined,
      onEnd: (error) => ended.push(error),
    });
    open.push(async () => subscription.stop());
    await waitForSubscriptions(app, 1);
    const revoked = await app.graphql("mutation { signOutEverywhere { sub } }", { headers: bearer(token) });
    expect(revoked.body.errors).toBeUndefined();
    expect(await ended.next()).toMatchObject({ code: 4401, reason: "Token revoked" });
    expect(refreshed).toBe(0);
  });

  it('resumes after the last event when the network was cut (reconnect: "subscription" and cursorOf)', async () => {
    const proxy = await startTcpProxy({ host: "127.0.0.1", port: Number(new URL(app.url).port) });
    open.push(() => proxy.close());
    const tokens: TokenSource = { current: () => app.devIssuer!.mint(PERSONAS.alice), refresh: async () => null };
    const socket = socketFor(tokens, { url: `ws://127.0.0.1:${proxy.port}/graphql`, reconnect: "subscription" });
    const events = eventQueue<MyOrderEventsSubscription["myOrderEvents"]>();
    const rereads = eventQueue<true>();
    const ended = eventQueue<unknown>();
    const subscription = subscribeForEver(
      socket,
      MyOrderEventsDocument,
      {},
      {
        onEvent: (event) => events.push(event.data!.myOrderEvents),
        onEnd: (error) => ended.push(error),
        onReconnected: () => rereads.push(true),
        cursorOf: (data) => data.myOrderEvents.cursor,
      },
    );
    open.push(async () => subscription.stop());
    await waitForSubscriptions(app, 1);
    const first = await placeOrder();
    expect(await events.next()).toMatchObject({ order: { id: first } });
    await proxy.cut();
    await waitForSubscriptions(app, 0);
    const missed = await placeOrder();
    await proxy.restore();
    expect(await events.next()).toMatchObject({ kind: "PLACED", order: { id: missed } });
    await waitForSubscriptions(app, 1);
    const live = await placeOrder();
    expect(await events.next()).toMatchObject({ kind: "PLACED", order: { id: live } });
    expect(events.count()).toBe(3);
    expect(rereads.count()).toBe(0);
    expect(ended.count()).toBe(0);
  });
});
