import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { DevIssuer } from "../../../src/auth/index.js";
import { MIGRATION_NAMES } from "../../../src/data/migrations.js";
import { PERSONAS } from "../../../src/dev/personas.js";
import { createTestDatabase, TEST_DATABASE_URL, type ScratchDatabase } from "../../helpers/database.js";
import { startServerProcess, type ServerProcess } from "../../helpers/process.js";

import { join } from "node:path";
import { tempDir } from "../../helpers/temp.js";
import { openSocket } from "../../helpers/ws.js";

/** Two server processes on one PostgreSQL database, as behind a load balancer. */
describe.skipIf(!TEST_DATABASE_URL)("two replicas on one PostgreSQL", () => {
  let scratch: ScratchDatabase;
  let replicas: ServerProcess[];
  let urls: string[];
  let token: string;
  let issuer: DevIssuer;
  // A third replica that learns revocations only by its periodic reload (REVOCATION_LISTEN=false), as when its
  // notifications are lost.
  let deaf: ServerProcess;
  let deafUrl: string;
  const DEAF_RELOAD_SECONDS = 2;

  beforeAll(async () => {
    scratch = await createTestDatabase(TEST_DATABASE_URL!);
    // Both replicas share the dev issuer's keys, as replicas share a Cognito pool.
    const dataDir = tempDir("replicas-");
    replicas = [1, 2].map(() => startServerProcess({ DATABASE_URL: scratch.url, DATA_DIR: dataDir }));
    urls = await Promise.all(replicas.map((r) => r.url()));
    issuer = DevIssuer.load(join(dataDir, "dev-issuer-keys.json"));
    token = issuer.mint(PERSONAS.alice);
    deaf = startServerProcess({
      DATABASE_URL: scratch.url,
      DATA_DIR: dataDir,
      REVOCATION_LISTEN: "false",
      REVOCATION_RELOAD_SECONDS: String(DEAF_RELOAD_SECONDS),
    });
    replicas.push(deaf);
    deafUrl = await deaf.url();
  });

  afterAll(async () => {
    for (const replica of replicas ?? []) replica.kill();
    await Promise.all((replicas ?? []).map((r) => r.exited));
    await scratch?.drop();
  });

  const graphql = async (url: string, query: string, variables?: unknown, bearer = token) => {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${bearer}` },
      body: JSON.stringify({ query, variables }),
    });
    return (await response.json()) as { data?: any; errors?: any[] };
  };
  /** Milliseconds until `url` refuses `bearer` as revoked (polled every 25 ms), or throws after `boundMs`. */
  const refusedWithin = async (url: string, bearer: string, boundMs: number) => {
    const started = Date.now();
    for (;;) {
      const answer = await graphql(url, "{ me { sub } }", undefined, bearer);
      if (answer.errors?.[0]?.extensions?.auth?.reason === "TOKEN_REVOKED") return Date.now() - started;
      expect(answer.data?.me?.sub).toBe(PERSONAS.alice.sub);
      if (Date.now() - started > boundMs) throw new Error(`still accepted after ${boundMs} ms`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  /** Until the replica at `url` has `count` subscriptions in place, by its /metrics (served there in dev mode); at most 10 s. */
  const subscriptionsInPlace = async (url: string, count: number) => {
    const gauge = new RegExp(`^graphql_ws_subscriptions ${count}$`, "m");
    for (let i = 0; i < 500; i++) {
      if (gauge.test(await (await fetch(url.replace(/\/graphql$/, "/metrics"))).text())) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`the replica at ${url} never had ${count} subscriptions in place`);
  };
  const PLACE = "mutation ($input: PlaceOrderInput!) { placeOrder(input: $input) { id } }";
  const input = (idempotencyKey: string) => ({ input: { idempotencyKey, items: [{ productId: "prd-cable", quantity: 1 }] } });

  it("ran each migration once although both started together", async () => {
    const client = new pg.Client({ connectionString: scratch.url });
    await client.connect();
    const { rows } = await client.query("select name from kysely_migration order by name");
    await client.end();
    expect(rows.map((r) => r.name)).toEqual(MIGRATION_NAMES);
  });

  it("reads on one replica what the other wrote", async () => {
    const placed = await graphql(urls[0]!, PLACE, input("replica-write"));
    expect(placed.errors).toBeUndefined();
    const seen = await graphql(urls[1]!, "{ myOrders(first: 100) { edges { node { id } } } }");
    expect(seen.data.myOrders.edges.map((e: { node: { id: string } }) => e.node.id)).toContain(placed.data.placeOrder.id);
  });

  it("delivers an order event from a mutation on one replica to a subscriber on the other", async () => {
    const subscriber = await openSocket(urls[1]!.replace(/^http/, "ws"));
    await subscriber.init({ Authorization: `Bearer ${token}` });
    subscriber.subscribe("1", "subscription { myOrderEvents { kind order { id status } } }");
    await subscriptionsInPlace(urls[1]!, 1);
    const placed = await graphql(urls[0]!, PLACE, input("replica-event"));
    const id = placed.data.placeOrder.id;
    const event = await subscriber.waitFor((m) => m.type === "next" && m.payload.data.myOrderEvents.order.id === id);
    expect(event.payload.data.myOrderEvents).toEqual({ kind: "PLACED", order: { id, status: "PENDING" } });
    subscriber.close();
  });

  it("holds an idempotency key across replicas, also when both get it at once", async () => {
    const answers = await Promise.all([0, 1, 0, 1, 0, 1].map((i) => graphql(urls[i]!, PLACE, input("replica-race"))));
    for (const answer of answers) expect(answer.errors).toBeUndefined();
    expect(new Set(answers.map((a) => a.data.placeOrder.id)).size).toBe(1);
    const client = new pg.Client({ connectionString: scratch.url });
    await client.connect();
    const { rows } = await client.query("select count(*)::int as n from orders where idempotency_key = 'replica-race'");
    await client.end();
    expect(rows[0].n).toBe(1);
  });

  it("enforces a revocation made through one replica on the other within a second, and on a replica without notifications within its reload interval", async () => {
    const session = issuer.mint(PERSONAS.alice);
    // Another sign-in, a minute earlier: a session signed in within the revoked one's second would be refused with it
    // (docs/revoking-sessions.md#refresh-token-rotation).
    const otherSession = issuer.mint({ ...PERSONAS.alice, issuedAt: Math.floor(Date.now() / 1000) - 60 });
    // All three have seen (and cached) the token before it is revoked.
    for (const url of [...urls, deafUrl])
      expect((await graphql(url, "{ me { sub } }", undefined, session)).data.me.sub).toBe(PERSONAS.alice.sub);
    const revoked = await graphql(urls[0]!, "mutation { signOut { sessionId } }", undefined, session);
    expect(revoked.errors).toBeUndefined();
    const [onB, onDeaf] = await Promise.all([
      refusedWithin(urls[1]!, session, 1000),
      refusedWithin(deafUrl, session, DEAF_RELOAD_SECONDS * 1000 + 1000),
    ]);
    expect(onB).toBeLessThan(1000);
    expect(onDeaf).toBeLessThan(DEAF_RELOAD_SECONDS * 1000 + 1000);
    // The person's other session is untouched everywhere.
    for (const url of [...urls, deafUrl])
      expect((await graphql(url, "{ me { sub } }", undefined, otherSession)).data.me.sub).toBe(PERSONAS.alice.sub);
  });
});
