import { randomUUID } from "node:crypto";
import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { OrderEventsDocument } from "../../../src/__generated__/client/graphql.js";
import { PERSONAS } from "../../../src/dev/personas.js";
import { bearer, startApp, type TestApp } from "../../helpers/app.js";
import { createTestDatabase, TEST_DATABASE_URL } from "../../helpers/database.js";
import { tempDir } from "../../helpers/temp.js";
import { openSocket } from "../../helpers/ws.js";
import { createSubscriptionClient, resumeSubscription } from "../../client/subscriptions.js";

/** A gate the client's reconnection waits at, so the test decides what happens while it is away. */
function gate() {
  let open!: () => void;
  let closedAt = 0;
  let waiting = new Promise<void>((resolve) => (open = resolve));
  return {
    wait: async () => {
      closedAt++;
      await waiting;
    },
    get reconnecting() {
      return closedAt;
    },
    open: () => {
      open();
      waiting = new Promise<void>((resolve) => (open = resolve));
    },
  };
}

const place = async (app: TestApp, token: string) => {
  const placed = await app.graphql(
    `mutation { placeOrder(input: { idempotencyKey: "${randomUUID()}", items: [{ productId: "prd-cable", quantity: 1 }] }) { id } }`,
    { headers: bearer(token) },
  );
  expect(placed.body.errors, placed.text).toBeUndefined();
  return placed.body.data.placeOrder.id as string;
};

/**
 * Places orders until the subscription has received one (it may not be in place yet when the first is placed):
 * the client's anchor. Returns the id of the last order placed, which the subscription receives or has received.
 */
async function placeUntilReceived(app: TestApp, token: string, received: readonly string[]): Promise<string> {
  let first = await place(app, token);
  for (let i = 0; i < 50 && received.length === 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    if (received.length === 0) first = await place(app, token);
  }
  return first;
}

/** Follows orderEvents as staff through the example client, resuming with the last cursor; collects order ids. */
function follow(app: TestApp, retry: ReturnType<typeof gate>) {
  const client = createSubscriptionClient(app.wsUrl, () => app.devIssuer!.mint(PERSONAS.stella));
  const received: string[] = [];
  const events = resumeSubscription(client, OrderEventsDocument, {}, { cursorOf: (data) => data.orderEvents.cursor, wait: retry.wait });
  const done = (async () => {
    for await (const event of events) received.push(event.data!.orderEvents.order.id);
  })();
  const until = async (id: string) => {
    for (let i = 0; i < 300 && !received.includes(id); i++) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(received).toContain(id);
  };
  // Disposing closes the socket with 1000, which ends the subscription (return() would wait for its next event).
  return { received, until, stop: async () => (await client.dispose(), await done) };
}

const backends = [
  {
    name: "PGlite (a directory)",
    skip: false,
    database: async () => ({ database: { pgliteDir: tempDir("resume-pglite-") }, drop: async () => undefined }),
  },
  {
    name: "PostgreSQL",
    skip: !TEST_DATABASE_URL,
    database: async () => {
      const scratch = await createTestDatabase(TEST_DATABASE_URL!);
      return { database: { url: scratch.url }, drop: () => scratch.drop() };
    },
  },
];

describe.each(backends)("the example client resumes with its last cursor on $name", ({ skip, database }) => {
  it.skipIf(skip)(
    "after a server restart: every event in between, exactly once, in order",
    async () => {
      const { database: kept, drop } = await database();
      const env = { DATA_DIR: tempDir("resume-keys-"), REVOCATION_RELOAD_SECONDS: "3600" };
      let app = await startApp(env, { database: kept });
      const port = new URL(app.url).port;
      const retry = gate();
      const staff = follow(app, retry);
      try {
        const token = app.devIssuer!.mint(PERSONAS.alice);
        const first = await placeUntilReceived(app, token, staff.received);
        await staff.until(first);
        const before = [...staff.received];
        await app.close();
        // The same port and database: the client's URL does not change.
        app = await startApp({ ...env, PORT: port }, { database: kept });
        const missed = [await place(app, token), await place(app, token), await place(app, token)];
        expect(retry.reconnecting).toBeGreaterThan(0);
        retry.open();
        await staff.until(missed.at(-1)!);
        const live = await place(app, token);
        await staff.until(live);
        expect(staff.received).toEqual([...before, ...missed, live]);
      } finally {
        retry.open();
        await staff.stop();
        await app.close();
        await drop();
      }
    },
    120_000,
  );
});

describe.skipIf(!TEST_DATABASE_URL)("the example client resumes after a 1012 (PostgreSQL)", () => {
  it("delivers every event published while it reconnects, exactly once, in order", async () => {
    const app = await startApp({ REVOCATION_RELOAD_SECONDS: "3600" }, { postgresUrl: TEST_DATABASE_URL! });
    const retry = gate();
    const staff = follow(app, retry);
    try {
      const token = app.devIssuer!.mint(PERSONAS.bob);
      const first = await placeUntilReceived(app, token, staff.received);
      await staff.until(first);
      const before = [...staff.received];
      await sql`select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and query ilike 'listen %'`.execute(
        app.db,
      );
      for (let i = 0; i < 100 && retry.reconnecting === 0; i++) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(retry.reconnecting).toBeGreaterThan(0);
      const missed = [await place(app, token), await place(app, token)];
      retry.open();
      await staff.until(missed.at(-1)!);
      const live = await place(app, token);
      await staff.until(live);
      expect(staff.received).toEqual([...before, ...missed, live]);
    } finally {
      retry.open();
      await staff.stop();
      await app.close();
    }
  }, 60_000);
});

describe("the example client refreshes its token on the open socket", () => {
  it("hands a fresh token before expiry, so the socket outlives the first token", async () => {
    const app = await startApp({ AUTH_CLOCK_SKEW_SECONDS: "0" });
    const closes: string[] = [];
    const minted: string[] = [];
    // The first token lives 3 s; the next ones an hour (what a refresh would give).
    const getToken = () => {
      minted.push(app.devIssuer!.mint({ ...PERSONAS.stella, expiresInSeconds: minted.length === 0 ? 3 : 3600 }));
      return minted.at(-1)!;
    };
    const client = createSubscriptionClient(app.wsUrl, getToken, {
      refreshBeforeSeconds: 2,
      onUnauthorized: (reason) => closes.push(reason),
    });
    const received: string[] = [];
    const events = resumeSubscription(
      client,
      OrderEventsDocument,
      {},
      { cursorOf: (data) => data.orderEvents.cursor, wait: async () => void closes.push("reconnect") },
    );
    const done = (async () => {
      for await (const event of events) received.push(event.data!.orderEvents.order.id);
    })();
    try {
      const token = app.devIssuer!.mint(PERSONAS.alice);
      const first = await placeUntilReceived(app, token, received);
      // Past the first token's expiry (3 s after it was minted, no leeway) as the server sees it: a witness socket
      // holding only that token is closed with 4401 when the server takes it for expired.
      const witness = await openSocket(app.wsUrl);
      witness.send({ type: "connection_init", payload: { Authorization: `Bearer ${minted[0]}` } });
      expect((await witness.closed).code).toBe(4401);
      const later = await place(app, token);
      for (let i = 0; i < 100 && !received.includes(later); i++) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(received).toContain(first);
      expect(received).toContain(later);
      expect(minted.length).toBeGreaterThanOrEqual(2);
      // Never closed for the token, never reconnected.
      expect(closes).toEqual([]);
    } finally {
      await client.dispose();
      await done;
      await app.close();
    }
  }, 60_000);
});

describe("the Apollo Client 4 example with GraphQLWsLink", () => {
  it("resumes with its last cursor after a server restart: every event in between, once, in order", async () => {
    const { ApolloClient, InMemoryCache, HttpLink } = await import("@apollo/client");
    const { resumeApolloSubscription, splitBySubscription } = await import("../../client/apollo-subscriptions.js");
    const kept = { pgliteDir: tempDir("resume-apollo-") };
    const env = { DATA_DIR: tempDir("resume-apollo-keys-"), REVOCATION_RELOAD_SECONDS: "3600" };
    let app = await startApp(env, { database: kept });
    const port = new URL(app.url).port;
    const retry = gate();
    const ws = createSubscriptionClient(app.wsUrl, () => app.devIssuer!.mint(PERSONAS.stella));
    const client = new ApolloClient({
      link: splitBySubscription(ws, new HttpLink({ uri: app.url })),
      cache: new InMemoryCache(),
      // As the example's createApolloApiClient (test/client/apollo.ts declares this default to Apollo's types).
      defaultOptions: { query: { errorPolicy: "all" }, watchQuery: { errorPolicy: "all" }, mutate: { errorPolicy: "all" } },
    });
    const received: string[] = [];
    const subscription = resumeApolloSubscription(client, OrderEventsDocument, {}, (data) => data.orderEvents.cursor, retry.wait).subscribe(
      {
        next: (data) => received.push(data.orderEvents.order.id),
      },
    );
    const until = async (id: string) => {
      for (let i = 0; i < 300 && !received.includes(id); i++) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(received).toContain(id);
    };
    try {
      const token = app.devIssuer!.mint(PERSONAS.alice);
      const first = await placeUntilReceived(app, token, received);
      await until(first);
      const before = [...received];
      await app.close();
      app = await startApp({ ...env, PORT: port }, { database: kept });
      const missed = [await place(app, token), await place(app, token)];
      for (let i = 0; i < 100 && retry.reconnecting === 0; i++) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(retry.reconnecting).toBeGreaterThan(0);
      retry.open();
      await until(missed.at(-1)!);
      const live = await place(app, token);
      await until(live);
      expect(received).toEqual([...before, ...missed, live]);
    } finally {
      subscription.unsubscribe();
      retry.open();
      await ws.dispose();
      await app.close();
    }
  }, 120_000);
});
