import { randomUUID } from "node:crypto";
import { sql } from "kysely";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeExecutableSchema } from "@graphql-tools/schema";
import { applyAuthDirectives, authDirectiveTypeDefs, RevocationList } from "../../../src/auth/index.js";
import { DEV_APP_CLIENT_ID, PERSONAS, type PersonaName } from "../../../src/dev/personas.js";
import { SUBSCRIPTIONS_OVER_WEBSOCKET_MESSAGE } from "../../../src/graphql/limits.js";
import { bearer, startApp, type TestApp } from "../../helpers/app.js";
import { BACKENDS, TEST_DATABASE_URL } from "../../helpers/database.js";
import { startJwksServer } from "../../helpers/jwks-server.js";
import { accessClaims, generateRsaKey, jwksOf, signToken, TEST_CLIENT_ID, TEST_POOL_ID } from "../../helpers/keys.js";
import { closeOf, openSocket, type RawSocket } from "../../helpers/ws.js";

const MY_EVENTS = "subscription { myOrderEvents { kind occurredAt order { id customerId status } } }";
const ALL_EVENTS = "subscription { orderEvents { kind order { id customerId status } } }";
const PLACE = "mutation ($input: PlaceOrderInput!) { placeOrder(input: $input) { id } }";
const place = (app: TestApp, token: string) =>
  app.graphql(PLACE, {
    headers: bearer(token),
    variables: { input: { idempotencyKey: randomUUID(), items: [{ productId: "prd-cable", quantity: 1 }] } },
  });

/** Log lines as objects, for the audit and no-leak checks. */
function memoryLogger() {
  const lines: string[] = [];
  const logger = pino({ level: "debug" }, { write: (line: string) => void lines.push(line) });
  return { logger, lines, parsed: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

const nextOf = (socket: RawSocket, id: string) => socket.messages.filter((m) => m.type === "next" && m.id === id).map((m) => m.payload);

describe("subscriptions over WebSocket (dev mode)", () => {
  let app: TestApp;
  let revocations: RevocationList;
  const logs = memoryLogger();
  const tokens: string[] = [];
  const token = (persona: PersonaName, expiresInSeconds?: number) => {
    const minted = app.devIssuer!.mint({ ...PERSONAS[persona], ...(expiresInSeconds ? { expiresInSeconds } : {}) });
    tokens.push(minted);
    return minted;
  };
  const connect = async (persona: PersonaName | null) => {
    const socket = await openSocket(app.wsUrl);
    await socket.init(persona ? { Authorization: `Bearer ${token(persona)}` } : undefined);
    return socket;
  };

  beforeAll(async () => {
    revocations = new RevocationList();
    app = await startApp(
      {
        WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: "2",
        WS_MAX_CONNECTIONS_PER_SUBJECT: "3",
        WS_CONNECTION_INIT_TIMEOUT_SECONDS: "1",
        WS_MAX_MESSAGE_BYTES: "4096",
      },
      { logger: logs.logger, revocations, metrics: true },
    );
  });
  afterAll(() => app?.close());

  it("delivers a customer's own order events, re-read after the change committed", async () => {
    const alice = await connect("alice");
    alice.subscribe("1", MY_EVENTS);
    await app.waitForSubscribers(1);
    const placed = await place(app, token("alice"));
    expect(placed.body.errors).toBeUndefined();
    const id = placed.body.data.placeOrder.id;
    const event = await alice.waitFor((m) => m.type === "next" && m.payload.data.myOrderEvents.order.id === id);
    expect(event.payload).toEqual({
      data: {
        myOrderEvents: { kind: "PLACED", occurredAt: expect.any(String), order: { id, customerId: PERSONAS.alice.sub, status: "PENDING" } },
      },
    });
    const cancelled = await app.graphql(`mutation { cancelOrder(id: "${id}") { id } }`, { headers: bearer(token("alice")) });
    expect(cancelled.body.errors).toBeUndefined();
    const second = await alice.waitFor((m) => m.type === "next" && m.payload.data.myOrderEvents.kind === "CANCELLED");
    expect(second.payload.data.myOrderEvents.order.status).toBe("CANCELLED");
    alice.close();
  });

  it("never sends a customer another customer's event, not even as an error", async () => {
    const alice = await connect("alice");
    alice.subscribe("1", MY_EVENTS);
    await app.waitForSubscribers(1);
    const bobs = await place(app, token("bob"));
    const alices = await place(app, token("alice"));
    // Events are handled in order: once alice's arrived, bob's (earlier) was already passed over.
    await alice.waitFor((m) => m.type === "next" && m.payload.data.myOrderEvents.order.id === alices.body.data.placeOrder.id);
    expect(alice.messages.filter((m) => m.type !== "connection_ack")).toHaveLength(1);
    expect(JSON.stringify(alice.messages)).not.toContain(bobs.body.data.placeOrder.id);
    alice.close();
  });

  it("sends every order event to staff, support and machine clients with orders/read", async () => {
    const followers = await Promise.all((["stella", "sam", "fulfillment"] as const).map((p) => connect(p)));
    for (const socket of followers) socket.subscribe("all", ALL_EVENTS);
    await app.waitForSubscribers(3);
    const a = (await place(app, token("alice"))).body.data.placeOrder.id;
    const b = (await place(app, token("bob"))).body.data.placeOrder.id;
    const paid = await app.graphql(`mutation { updateOrderStatus(id: "${b}", status: PAID) { id } }`, { headers: bearer(token("stella")) });
    expect(paid.body.errors).toBeUndefined();
    for (const socket of followers) {
      await socket.waitFor((m) => m.type === "next" && m.payload.data.orderEvents.kind === "STATUS_CHANGED");
      expect(nextOf(socket, "all").map((p) => [p.data.orderEvents.kind, p.data.orderEvents.order.id])).toEqual([
        ["PLACED", a],
        ["PLACED", b],
        ["STATUS_CHANGED", b],
      ]);
      socket.close();
    }
  });

  it("refuses a subscription the caller's token does not allow, with an error message, and keeps the connection", async () => {
    const alice = await connect("alice");
    alice.subscribe("all", ALL_EVENTS);
    const refused = await alice.waitFor((m) => m.type === "error" && m.id === "all");
    expect(refused.payload).toEqual([
      expect.objectContaining({
        message: "You do not have permission to perform this operation.",
        extensions: expect.objectContaining({ code: "FORBIDDEN" }),
      }),
    ]);
    // A denied field anywhere in the selection refuses the whole subscription (internalNote is staff only).
    alice.subscribe("note", "subscription { myOrderEvents { order { id internalNote } } }");
    const note = await alice.waitFor((m) => m.type === "error" && m.id === "note");
    expect(note.payload[0].extensions.code).toBe("FORBIDDEN");
    alice.subscribe("mine", MY_EVENTS);
    await app.waitForSubscribers(1);
    const id = (await place(app, token("alice"))).body.data.placeOrder.id;
    await alice.waitFor((m) => m.type === "next" && m.id === "mine" && m.payload.data.myOrderEvents.order.id === id);
    alice.close();
  });

  it("closes an anonymous connection at once with 4401 when no Subscription field is @public (the shop has none)", async () => {
    const visitor = await openSocket(app.wsUrl);
    visitor.send({ type: "connection_init" });
    expect(await visitor.closed).toEqual({ code: 4401, reason: "Authentication required" });
    expect(visitor.messages.some((m) => m.type === "connection_ack")).toBe(false);
  });

  it("serves only subscriptions over WebSocket, and refuses them over HTTP with 400 pointing to WebSocket", async () => {
    const alice = await connect("alice");
    alice.subscribe("q", "{ me { sub } }");
    const error = await alice.waitFor((m) => m.type === "error" && m.id === "q");
    expect(error.payload[0]).toMatchObject({ extensions: { code: "BAD_REQUEST" } });
    expect(error.payload[0].message).toMatch(/HTTP POST/);
    alice.close();
    const overHttp = await app.graphql(MY_EVENTS, { headers: bearer(token("alice")) });
    expect(overHttp.status).toBe(400);
    expect(overHttp.body.errors[0]).toMatchObject({
      message: SUBSCRIPTIONS_OVER_WEBSOCKET_MESSAGE,
      extensions: { code: "GRAPHQL_VALIDATION_FAILED" },
    });
  });

  it("validates a subscription like an HTTP operation (unknown fields, depth)", async () => {
    const alice = await connect("alice");
    alice.subscribe("x", "subscription { myOrderEvents { nope } }");
    const error = await alice.waitFor((m) => m.type === "error" && m.id === "x");
    expect(error.payload[0].extensions.code).toBe("GRAPHQL_VALIDATION_FAILED");
    alice.close();
  });

  describe("close codes", () => {
    it("closes with 4401 and the reason code for an invalid token", async () => {
      // A character in the middle of the signature: the last one may carry only unused bits.
      const valid = token("alice");
      const at = valid.lastIndexOf(".") + 100;
      const forged = valid.slice(0, at) + (valid[at] === "A" ? "B" : "A") + valid.slice(at + 1);
      expect(await closeOf(app.wsUrl, { Authorization: `Bearer ${forged}` })).toEqual({
        code: 4401,
        reason: "Invalid token: TOKEN_SIGNATURE_INVALID",
      });
      expect(await closeOf(app.wsUrl, { Authorization: "Bearer not.a.jwt" })).toMatchObject({ code: 4401 });
    });

    it("closes with 4401 for an expired token", async () => {
      const expired = app.devIssuer!.mint({ ...PERSONAS.alice, issuedAt: Math.floor(Date.now() / 1000) - 7200, expiresInSeconds: 3600 });
      tokens.push(expired);
      expect(await closeOf(app.wsUrl, { Authorization: `Bearer ${expired}` })).toEqual({
        code: 4401,
        reason: "Invalid token: TOKEN_EXPIRED",
      });
    });

    it("closes with 4400 for a malformed Authorization, two of them, or a token in the URL", async () => {
      expect(await closeOf(app.wsUrl, { Authorization: "Basic abc" })).toEqual({ code: 4400, reason: "Bad request" });
      expect(await closeOf(app.wsUrl, { Authorization: 42 })).toEqual({ code: 4400, reason: "Bad request" });
      const t = token("alice");
      expect(await closeOf(app.wsUrl, { Authorization: `Bearer ${t}`, authorization: `Bearer ${t}` })).toEqual({
        code: 4400,
        reason: "Bad request",
      });
      expect(await closeOf(`${app.wsUrl}?access_token=${t}`, { Authorization: `Bearer ${t}` })).toEqual({
        code: 4400,
        reason: "Bad request",
      });
    });

    it("closes with graphql-ws's own codes for protocol breaches: 4409, 4429, 4401 before the ack, 4400", async () => {
      const twice = await connect("stella");
      twice.send({ type: "connection_init" });
      expect(await twice.closed).toEqual({ code: 4429, reason: "Too many initialisation requests" });
      const duplicate = await connect("stella");
      duplicate.subscribe("same", ALL_EVENTS);
      duplicate.subscribe("same", ALL_EVENTS);
      expect(await duplicate.closed).toEqual({ code: 4409, reason: "Subscriber for same already exists" });
      const early = await openSocket(app.wsUrl);
      early.subscribe("1", ALL_EVENTS);
      expect(await early.closed).toEqual({ code: 4401, reason: "Unauthorized" });
      const garbage = await openSocket(app.wsUrl);
      garbage.send("not json");
      expect(await garbage.closed).toEqual({ code: 4400, reason: "Invalid message received" });
    });

    it("closes with 4408 when connection_init does not come within WS_CONNECTION_INIT_TIMEOUT_SECONDS", async () => {
      const socket = await openSocket(app.wsUrl);
      const started = Date.now();
      expect(await socket.closed).toEqual({ code: 4408, reason: "Connection initialisation timeout" });
      expect(Date.now() - started).toBeLessThan(2500);
    });

    it("closes with 1009 on a message over WS_MAX_MESSAGE_BYTES", async () => {
      const socket = await openSocket(app.wsUrl);
      socket.send({ type: "connection_init", payload: { padding: "x".repeat(8192) } });
      expect((await socket.closed).code).toBe(1009);
    });

    it("closes with 4403 beyond WS_MAX_CONNECTIONS_PER_SUBJECT, counting per subject", async () => {
      const open = await Promise.all([connect("bob"), connect("bob"), connect("bob")]);
      expect(await closeOf(app.wsUrl, { Authorization: `Bearer ${token("bob")}` })).toEqual({
        code: 4403,
        reason: "Too many connections for this subject",
      });
      // Another subject is not affected, and closing one of bob's makes room.
      (await connect("sam")).close();
      open[0]!.close();
      await open[0]!.closed;
      const again = await connect("bob");
      for (const socket of [again, ...open.slice(1)]) socket.close();
    });

    it("refuses a subscription beyond WS_MAX_SUBSCRIPTIONS_PER_CONNECTION with an error, keeping the others", async () => {
      const stella = await connect("stella");
      stella.subscribe("1", ALL_EVENTS);
      stella.subscribe("2", ALL_EVENTS);
      stella.subscribe("3", ALL_EVENTS);
      const refused = await stella.waitFor((m) => m.type === "error" && m.id === "3");
      expect(refused.payload[0]).toMatchObject({
        message: "Too many subscriptions on this connection (at most 2); complete one first.",
        extensions: { code: "SUBSCRIPTION_LIMIT" },
      });
      stella.send({ id: "1", type: "complete" });
      await app.waitForSubscribers(1);
      stella.subscribe("4", ALL_EVENTS);
      await app.waitForSubscribers(2);
      const id = (await place(app, token("alice"))).body.data.placeOrder.id;
      await stella.waitFor((m) => m.id === "4" && m.type === "next" && m.payload.data.orderEvents.order.id === id);
      await stella.waitFor((m) => m.id === "2" && m.type === "next" && m.payload.data.orderEvents.order.id === id);
      expect(nextOf(stella, "1").map((p) => p.data.orderEvents.order.id)).not.toContain(id);
      stella.close();
    });

    it('closes with 4401 "Token revoked" when the connection\'s session is revoked, and refuses the token afterwards', async () => {
      const sam = await connect("sam");
      revocations.add({
        kind: "subject",
        sub: PERSONAS.sam.sub,
        before: new Date(Date.now() + 1000),
        expiresAt: new Date(Date.now() + 7200_000),
      });
      expect(await sam.closed).toEqual({ code: 4401, reason: "Token revoked" });
      expect(await closeOf(app.wsUrl, { Authorization: `Bearer ${token("sam")}` })).toEqual({
        code: 4401,
        reason: "Invalid token: TOKEN_REVOKED",
      });
    });
  });

  it("counts open connections and active subscriptions on /metrics", async () => {
    const stella = await connect("stella");
    stella.subscribe("1", ALL_EVENTS);
    await app.waitForSubscribers(1);
    const metrics = (await app.fetch("/metrics")).text;
    expect(metrics).toMatch(/^graphql_ws_connections [1-9]/m);
    expect(metrics).toMatch(/^graphql_ws_subscriptions [1-9]/m);
    expect(metrics).toMatch(/^graphql_ws_closes_total\{code="4401"\} [1-9]/m);
    stella.close();
    await stella.closed;
    await app.waitForSubscribers(0);
    const after = (await app.fetch("/metrics")).text;
    expect(after).toMatch(/^graphql_ws_connections 0$/m);
    expect(after).toMatch(/^graphql_ws_subscriptions 0$/m);
  });

  it("writes audit lines for refused connections and subscriptions, and no token or claim in any line", () => {
    const lines = logs.parsed();
    expect(lines.filter((l) => l.event === "ws.connection_refused").map((l) => l.reason)).toEqual(
      expect.arrayContaining([
        "TOKEN_SIGNATURE_INVALID",
        "TOKEN_EXPIRED",
        "AUTHORIZATION_MALFORMED",
        "TOKEN_IN_URL",
        "TOO_MANY_CONNECTIONS",
        "TOKEN_REVOKED",
        "AUTHENTICATION_REQUIRED",
      ]),
    );
    expect(lines.filter((l) => l.event === "ws.subscription_refused").map((l) => l.reason)).toEqual(
      expect.arrayContaining(["INSUFFICIENT_PERMISSION", "SUBSCRIPTION_LIMIT"]),
    );
    const text = logs.lines.join("\n");
    for (const minted of tokens) {
      expect(text).not.toContain(minted);
      // Not even the signature or payload part of one.
      for (const part of minted.split(".")) expect(text).not.toContain(part);
    }
    for (const persona of Object.values(PERSONAS)) {
      if (persona.email) expect(text).not.toContain(persona.email);
    }
    expect(text).not.toMatch(/"groups"|"scopes"|"email"|"username"/);
  });
});

describe("token expiry on an open connection", () => {
  it('closes with 4401 "Token expired" within the leeway after exp', async () => {
    const app = await startApp({ AUTH_CLOCK_SKEW_SECONDS: "1" });
    try {
      const token = app.devIssuer!.mint({ ...PERSONAS.alice, expiresInSeconds: 2 });
      const socket = await openSocket(app.wsUrl);
      await socket.init({ Authorization: `Bearer ${token}` });
      const exp = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()).exp * 1000;
      const closed = await socket.closed;
      expect(closed).toEqual({ code: 4401, reason: "Token expired" });
      // exp + 1 s leeway, plus timer slack on a loaded machine.
      expect(Date.now()).toBeGreaterThanOrEqual(exp + 1000);
      expect(Date.now()).toBeLessThan(exp + 1000 + 1500);
    } finally {
      await app.close();
    }
  });
});

describe("a key set that cannot be fetched", () => {
  it("closes with 1013, retryable, and says nothing about the token", async () => {
    const key = generateRsaKey();
    const jwks = await startJwksServer(jwksOf(key));
    const app = await startApp({
      NODE_ENV: "production",
      COGNITO_USER_POOL_ID: TEST_POOL_ID,
      COGNITO_CLIENT_ID: TEST_CLIENT_ID,
      COGNITO_JWKS_URI: jwks.url,
    });
    try {
      jwks.setBehaviour({ status: 500 });
      // A kid the server has not seen forces a fetch, and the key endpoint is failing.
      const closed = await closeOf(app.wsUrl, { Authorization: `Bearer ${signToken(generateRsaKey(), accessClaims())}` });
      expect(closed).toEqual({ code: 1013, reason: "Authentication temporarily unavailable; retry later" });
      jwks.setBehaviour({});
      const socket = await openSocket(app.wsUrl);
      await socket.init({ Authorization: `Bearer ${signToken(key, accessClaims())}` });
      socket.close();
    } finally {
      await app.close();
      await jwks.close();
    }
  });
});

describe("graceful shutdown", () => {
  it("closes every socket with 1001 and a reconnect hint", async () => {
    const app = await startApp();
    const socket = await openSocket(app.wsUrl);
    await socket.init({ Authorization: `Bearer ${app.devIssuer!.mint(PERSONAS.stella)}` });
    socket.subscribe("1", ALL_EVENTS);
    await app.waitForSubscribers(1);
    const closing = app.close();
    expect(await socket.closed).toEqual({ code: 1001, reason: "Server shutting down; reconnect" });
    await closing;
  });
});

describe.each(BACKENDS)("order events on $name", ({ postgresUrl, skip }) => {
  let app: TestApp;
  beforeAll(async () => {
    if (!skip) app = await startApp({ WS_MAX_CONNECTIONS_PER_SUBJECT: "10" }, { postgresUrl });
  }, 60_000);
  afterAll(() => app?.close());

  const tokenOf = (persona: PersonaName | { sub: string; username: string }) =>
    app.devIssuer!.mint(typeof persona === "string" ? PERSONAS[persona] : { ...persona, clientId: DEV_APP_CLIENT_ID, scopes: ["openid"] });
  const follow = async (persona: PersonaName | { sub: string; username: string }, query: string) => {
    const socket = await openSocket(app.wsUrl);
    await socket.init({ Authorization: `Bearer ${tokenOf(persona)}` });
    socket.subscribe("1", query);
    return socket;
  };
  const newProduct = async (stock: number): Promise<string> => {
    const response = await app.graphql(
      `mutation { createProduct(input: { sku: "WS-${randomUUID()}", name: "Test", priceCents: 100, costPriceCents: 10, stock: ${stock} }) { id } }`,
      {
        headers: bearer(tokenOf("ada")),
      },
    );
    return response.body.data.createProduct.id;
  };

  it.skipIf(skip)("publishes nothing for a rolled-back or refused mutation", async () => {
    const stella = await follow("stella", ALL_EVENTS);
    await app.waitForSubscribers(1);
    const product = await newProduct(10);
    const order = async (persona: PersonaName) =>
      (
        await app.graphql(
          `mutation { placeOrder(input: { idempotencyKey: "${randomUUID()}", items: [{ productId: "${product}", quantity: 1 }] }) { id } }`,
          { headers: bearer(tokenOf(persona)) },
        )
      ).body.data.placeOrder.id as string;
    const bobs = await order("bob");
    await stella.waitFor((m) => m.type === "next" && m.payload.data.orderEvents.order.id === bobs);
    // The first field changes the order; the second fails; the operation rolls back whole.
    const rolledBack = await app.graphql(
      `mutation { a: updateOrderStatus(id: "${bobs}", status: PAID) { id } b: updateOrderStatus(id: "no-such-order", status: PAID) { id } }`,
      { headers: bearer(tokenOf("stella")) },
    );
    expect(rolledBack.body.data).toBeNull();
    // Refused during execution (not alice's order): nothing written, nothing published.
    const refused = await app.graphql(`mutation { cancelOrder(id: "${bobs}") { id } }`, { headers: bearer(tokenOf("alice")) });
    expect(refused.body.data).toBeNull();
    const marker = await order("alice");
    await stella.waitFor((m) => m.type === "next" && m.payload.data.orderEvents.order.id === marker);
    expect(nextOf(stella, "1").map((p) => [p.data.orderEvents.kind, p.data.orderEvents.order.id])).toEqual([
      ["PLACED", bobs],
      ["PLACED", marker],
    ]);
    stella.close();
  });

  it.skipIf(skip)(
    "never delivers a customer another's event under concurrent subscribers and publishers; staff and machines get all",
    async () => {
      const customers = Array.from({ length: 5 }, (_, i) => ({
        sub: `ws-load-customer-${i}-${randomUUID()}`,
        username: `loadcustomer${i}`,
      }));
      const mine = await Promise.all(customers.map((c) => follow(c, MY_EVENTS)));
      const all = await Promise.all((["stella", "fulfillment"] as const).map((p) => follow(p, ALL_EVENTS)));
      await app.waitForSubscribers(7);
      const product = await newProduct(100_000);
      const published: { customer: number; id: string; kind: string }[] = [];
      const until = Date.now() + 4000;
      const publisher = async (n: number) => {
        for (let round = 0; Date.now() < until; round++) {
          const customer = (n + round) % customers.length;
          const token = tokenOf(customers[customer]!);
          const placed = await app.graphql(
            `mutation { placeOrder(input: { idempotencyKey: "${randomUUID()}", items: [{ productId: "${product}", quantity: 1 }] }) { id } }`,
            {
              headers: bearer(token),
            },
          );
          expect(placed.body.errors, placed.text).toBeUndefined();
          const id = placed.body.data.placeOrder.id as string;
          published.push({ customer, id, kind: "PLACED" });
          if (round % 2 === 0) {
            const cancelled = await app.graphql(`mutation { cancelOrder(id: "${id}") { id } }`, { headers: bearer(token) });
            expect(cancelled.body.errors, cancelled.text).toBeUndefined();
            published.push({ customer, id, kind: "CANCELLED" });
          }
        }
      };
      await Promise.all([0, 1, 2].map(publisher));
      expect(published.length).toBeGreaterThan(10);
      // Everything committed is delivered to staff and the machine client (each wait bounded), each event once.
      for (const socket of all) {
        for (const event of published)
          await socket.waitFor(
            (m) => m.type === "next" && m.payload.data.orderEvents.kind === event.kind && m.payload.data.orderEvents.order.id === event.id,
          );
      }
      for (const socket of all) {
        const got = nextOf(socket, "1").map((p) => `${p.data.orderEvents.kind}:${p.data.orderEvents.order.id}`);
        expect(got.sort()).toEqual(published.map((e) => `${e.kind}:${e.id}`).sort());
      }
      // Each customer receives each of their own events (waited for one by one), and nothing else.
      for (const [i] of customers.entries()) {
        for (const event of published.filter((e) => e.customer === i)) {
          await mine[i]!.waitFor(
            (m) =>
              m.type === "next" && m.payload.data.myOrderEvents.kind === event.kind && m.payload.data.myOrderEvents.order.id === event.id,
          );
        }
      }
      customers.forEach((customer, i) => {
        const got = nextOf(mine[i]!, "1").map((p) => p.data.myOrderEvents);
        for (const event of got) expect(event.order.customerId).toBe(customer.sub);
        expect(got.map((e) => `${e.kind}:${e.order.id}`).sort()).toEqual(
          published
            .filter((e) => e.customer === i)
            .map((e) => `${e.kind}:${e.id}`)
            .sort(),
        );
        expect(mine[i]!.messages.filter((m) => m.type !== "connection_ack" && m.type !== "next")).toEqual([]);
      });
      for (const socket of [...mine, ...all]) socket.close();
    },
    60_000,
  );
});

describe.skipIf(!TEST_DATABASE_URL)("notifications interrupted (PostgreSQL)", () => {
  it("closes every connection with 1012 once the listening connection is back, so clients re-read", async () => {
    const app = await startApp({}, { postgresUrl: TEST_DATABASE_URL! });
    try {
      const socket = await openSocket(app.wsUrl);
      await socket.init({ Authorization: `Bearer ${app.devIssuer!.mint(PERSONAS.stella)}` });
      socket.subscribe("1", ALL_EVENTS);
      await app.waitForSubscribers(1);
      const { rows } = await sql<{
        n: number;
      }>`select count(pg_terminate_backend(pid))::int as n from pg_stat_activity where datname = current_database() and query ilike 'listen %'`.execute(
        app.db,
      );
      expect(rows[0]!.n).toBeGreaterThan(0);
      expect(await socket.closed).toEqual({ code: 1012, reason: "Events may have been missed; reconnect" });
    } finally {
      await app.close();
    }
  }, 30_000);
});

describe("an anonymous connection", () => {
  it("may subscribe to a @public Subscription field, and to nothing else (production posture)", async () => {
    const jwks = await startJwksServer(jwksOf(generateRsaKey()));
    async function* count(field: string) {
      for (let i = 1; i <= 2; i++) yield { [field]: i };
    }
    const schema = applyAuthDirectives(
      makeExecutableSchema({
        typeDefs: [
          authDirectiveTypeDefs,
          `type Query { ok: String @public } type Subscription { ticks: Int @public, secret: Int @auth, broken: Int @public }`,
        ],
        resolvers: {
          Subscription: {
            ticks: { subscribe: () => count("ticks") },
            secret: { subscribe: () => count("secret") },
            broken: {
              subscribe: () => {
                throw new Error("a bug with a detail that stays in the log");
              },
            },
          },
        },
      }),
    );
    const logs = memoryLogger();
    const app = await startApp(
      { NODE_ENV: "production", COGNITO_USER_POOL_ID: TEST_POOL_ID, COGNITO_CLIENT_ID: TEST_CLIENT_ID, COGNITO_JWKS_URI: jwks.url },
      { schema, logger: logs.logger },
    );
    try {
      const visitor = await openSocket(app.wsUrl);
      await visitor.init();
      visitor.subscribe("t", "subscription { ticks }");
      visitor.subscribe("s", "subscription { secret }");
      await visitor.waitFor((m) => m.type === "complete" && m.id === "t");
      expect(nextOf(visitor, "t")).toEqual([{ data: { ticks: 1 } }, { data: { ticks: 2 } }]);
      const refused = await visitor.waitFor((m) => m.type === "error" && m.id === "s");
      expect(refused.payload[0].extensions.code).toBe("UNAUTHENTICATED");
      // An unexpected error: a fixed message and an id to quote, the cause at error level in the log under that id.
      visitor.subscribe("b", "subscription { broken }");
      const broken = await visitor.waitFor((m) => m.type === "error" && m.id === "b");
      expect(broken.payload).toEqual([
        {
          message: "Internal server error.",
          path: ["broken"],
          extensions: { code: "INTERNAL_SERVER_ERROR", requestId: expect.any(String) },
        },
      ]);
      const logged = logs.parsed().find((l) => l.requestId === broken.payload[0].extensions.requestId);
      expect(logged).toMatchObject({ level: 50, msg: "unexpected error", err: { message: "a bug with a detail that stays in the log" } });
      visitor.close();
    } finally {
      await app.close();
      await jwks.close();
    }
  });
});
