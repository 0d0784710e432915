import { randomUUID } from "node:crypto";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeExecutableSchema } from "@graphql-tools/schema";
import { applyAuthDirectives, authDirectiveTypeDefs } from "../../../src/auth/index.js";
import { PERSONAS } from "../../../src/dev/personas.js";
import { bearer, startApp, type TestApp } from "../../helpers/app.js";
import { openSocket } from "../../helpers/ws.js";

/**
 * One request pipeline for every transport: the cases where HTTP and WebSocket used to decide differently, each
 * checked on every transport it touches.
 */

/** Log lines as objects. */
function memoryLogger() {
  const lines: string[] = [];
  const logger = pino({ level: "debug" }, { write: (line: string) => void lines.push(line) });
  return { logger, parsed: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

const ALL_EVENTS = "subscription { orderEvents { kind order { id } } }";
const PLACE = "mutation ($input: PlaceOrderInput!) { placeOrder(input: $input) { id } }";

// A subscription whose root field depends on variables: the specification refuses it in validation.
const CONDITIONAL_ROOTS: Record<string, { query: string; variables?: Record<string, unknown> }> = {
  "@skip with a defaulted variable": { query: "subscription ($s: Boolean = false) { orderEvents @skip(if: $s) { kind } }" },
  "@include with a variable": { query: "subscription ($i: Boolean!) { orderEvents @include(if: $i) { kind } }", variables: { i: true } },
  "an undeclared variable": { query: "subscription { orderEvents @skip(if: $nope) { kind } }" },
  "a directive on a root fragment spread": {
    query: "subscription ($s: Boolean = false) { ...F @skip(if: $s) } fragment F on Subscription { orderEvents { kind } }",
  },
};

describe("a subscription with @skip/@include on its root selection (F7)", () => {
  let app: TestApp;
  const logs = memoryLogger();
  beforeAll(async () => {
    app = await startApp({}, { logger: logs.logger });
  });
  afterAll(() => app?.close());

  it("is refused with an error message on its id over WebSocket; the socket and its other subscriptions go on", async () => {
    const stella = await openSocket(app.wsUrl);
    await stella.init({ Authorization: `Bearer ${app.devIssuer!.mint(PERSONAS.stella)}` });
    stella.subscribe("live", ALL_EVENTS);
    await app.waitForSubscribers(1);
    for (const [name, { query, variables }] of Object.entries(CONDITIONAL_ROOTS)) {
      stella.subscribe(name, query, variables);
      const refused = await stella.waitFor((m) => m.type === "error" && m.id === name);
      expect(refused.payload[0].extensions.code, name).toBe("GRAPHQL_VALIDATION_FAILED");
    }
    const placed = await app.graphql(PLACE, {
      headers: bearer(app.devIssuer!.mint(PERSONAS.alice)),
      variables: { input: { idempotencyKey: randomUUID(), items: [{ productId: "prd-cable", quantity: 1 }] } },
    });
    const id = placed.body.data.placeOrder.id;
    await stella.waitFor((m) => m.type === "next" && m.id === "live" && m.payload.data.orderEvents.order.id === id);
    expect(stella.socket.readyState).toBe(stella.socket.OPEN);
    stella.close();
  });

  it("is answered 400 GRAPHQL_VALIDATION_FAILED over HTTP", async () => {
    for (const [name, { query, variables }] of Object.entries(CONDITIONAL_ROOTS)) {
      const response = await app.graphql(query, { headers: bearer(app.devIssuer!.mint(PERSONAS.stella)), variables });
      expect(response.status, `${name}: ${response.text}`).toBe(400);
      expect(response.body.errors[0].extensions.code).toBe("GRAPHQL_VALIDATION_FAILED");
    }
  });

  it("logs nothing at error level", () => {
    expect(logs.parsed().filter((l) => (l.level as number) >= 50)).toEqual([]);
  });
});

describe("a variable nested 20,000 deep (F8)", () => {
  it("is answered 400 BAD_USER_INPUT over HTTP, and nothing is logged at error level", async () => {
    const logs = memoryLogger();
    const app = await startApp({}, { logger: logs.logger });
    try {
      // 40 KB of JSON, written by hand: the client's own JSON.stringify would overflow its stack.
      const deep = `${"[".repeat(20_000)}"leaf"${"]".repeat(20_000)}`;
      const send = (variables: string) =>
        app.fetch("/graphql", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: `{"query":"query ($id: ID!) { order(id: $id) { id } }","variables":${variables}}`,
        });
      // The declared variable is coerced and refuses the nested value.
      const declared = await send(`{"id":${deep}}`);
      expect(declared.status, declared.text).toBe(400);
      expect(declared.body.errors[0].extensions.code).toBe("BAD_USER_INPUT");
      // Undeclared ones are only walked (for unstorable text), never coerced: the missing $id is the client's error.
      const undeclared = await send(`{"unused":${deep}}`);
      expect(undeclared.status, undeclared.text).toBe(400);
      expect(undeclared.body.errors[0].extensions.code).toBe("BAD_USER_INPUT");
      // Text that could not be stored, 20,000 levels down, is still found.
      const unstorable = await send(`{"id":"ord-1","nested":${deep.replace('"leaf"', '"\\u0000"')}}`);
      expect(unstorable.status, unstorable.text).toBe(400);
      expect(unstorable.body.errors[0].message).toMatch(/U\+0000/);
      expect(logs.parsed().filter((l) => (l.level as number) >= 50)).toEqual([]);
    } finally {
      await app.close();
    }
  });
});

describe("a variable nested 20,000 deep over WebSocket (F8)", () => {
  it("is refused with BAD_USER_INPUT on its subscription's id; the socket goes on", async () => {
    const logs = memoryLogger();
    const app = await startApp({}, { logger: logs.logger });
    try {
      const stella = await openSocket(app.wsUrl);
      await stella.init({ Authorization: `Bearer ${app.devIssuer!.mint(PERSONAS.stella)}` });
      const deep = `${"[".repeat(20_000)}true${"]".repeat(20_000)}`;
      stella.send(
        `{"id":"deep","type":"subscribe","payload":{"query":"subscription ($x: Boolean!) { orderEvents { kind @include(if: $x) } }","variables":{"x":${deep}}}}`,
      );
      const refused = await stella.waitFor((m) => m.type === "error" && m.id === "deep");
      expect(refused.payload[0].extensions.code).toBe("BAD_USER_INPUT");
      stella.subscribe("after", "subscription { orderEvents { kind } }");
      await app.waitForSubscribers(1);
      stella.close();
      expect(logs.parsed().filter((l) => (l.level as number) >= 50)).toEqual([]);
    } finally {
      await app.close();
    }
  });
});

describe("CORS_ORIGINS on the WebSocket upgrade", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startApp({ CORS_ORIGINS: "https://app.example.com" });
  });
  afterAll(() => app?.close());

  it("refuses an upgrade from an origin the allowlist does not name (403), as HTTP gives it no CORS headers", async () => {
    await expect(openSocket(app.wsUrl, { headers: { origin: "https://evil.example" } })).rejects.toThrow(/upgrade refused: 403/);
    const overHttp = await app.fetch("/graphql", {
      method: "POST",
      headers: { origin: "https://evil.example", "content-type": "application/json" },
      body: JSON.stringify({ query: "{ me { sub } }" }),
    });
    expect(overHttp.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("accepts an allowed origin, and a client that sends no Origin (not a browser)", async () => {
    const token = app.devIssuer!.mint(PERSONAS.alice);
    for (const headers of [{ origin: "https://app.example.com" }, {}] as Record<string, string>[]) {
      const socket = await openSocket(app.wsUrl, { headers });
      await socket.init({ Authorization: `Bearer ${token}` });
      socket.close();
    }
  });
});

describe("anonymous WebSocket connections", () => {
  it("are capped per remote address and per replica (4403), where a @public Subscription field exists", async () => {
    async function* ticks() {
      yield { ticks: 1 };
    }
    const schema = applyAuthDirectives(
      makeExecutableSchema({
        typeDefs: [authDirectiveTypeDefs, "type Query { ok: String @public } type Subscription { ticks: Int @public }"],
        resolvers: { Subscription: { ticks: { subscribe: () => ticks() } } },
      }),
    );
    const app = await startApp({ WS_MAX_ANONYMOUS_CONNECTIONS: "3", WS_MAX_ANONYMOUS_CONNECTIONS_PER_ADDRESS: "2" }, { schema });
    const from = async (localAddress: string) => {
      const socket = await openSocket(app.wsUrl, { localAddress });
      socket.send({ type: "connection_init" });
      await Promise.race([socket.waitFor((m) => m.type === "connection_ack"), socket.closed]);
      return socket;
    };
    try {
      const first = await from("127.0.0.1");
      await from("127.0.0.1");
      const third = await from("127.0.0.1");
      expect(await third.closed).toEqual({ code: 4403, reason: "Too many anonymous connections" });
      await from("127.0.0.2");
      const overReplica = await from("127.0.0.3");
      expect(await overReplica.closed).toEqual({ code: 4403, reason: "Too many anonymous connections" });
      // A closed one frees its place.
      first.close();
      await first.closed;
      const again = await from("127.0.0.3");
      expect(again.messages.some((m) => m.type === "connection_ack")).toBe(true);
    } finally {
      await app.close();
    }
  });
});

describe("the alias limit", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startApp({ GRAPHQL_MAX_ALIASES: "3" });
  });
  afterAll(() => app?.close());

  it("counts __typename aliases and fields aliased as __typename over HTTP", async () => {
    const token = app.devIssuer!.mint(PERSONAS.ada);
    for (const query of [
      "{ __typename: me { sub } a: me { sub } b: me { sub } c: me { sub } }",
      "{ a: __typename b: __typename c: __typename d: __typename }",
    ]) {
      const response = await app.graphql(query, { headers: bearer(token) });
      expect(response.status, response.text).toBe(400);
      expect(response.body.errors[0].message).toMatch(/alias/i);
    }
  });

  it("counts them over WebSocket too", async () => {
    const socket = await openSocket(app.wsUrl);
    await socket.init({ Authorization: `Bearer ${app.devIssuer!.mint(PERSONAS.stella)}` });
    socket.subscribe("a", "subscription { orderEvents { __typename: kind a: kind b: kind c: __typename } }");
    const refused = await socket.waitFor((m) => m.type === "error" && m.id === "a");
    expect(refused.payload[0].message).toMatch(/alias/i);
    socket.close();
  });
});
