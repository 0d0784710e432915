import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DevIssuer } from "../../../src/auth/index.js";
import { PERSONAS } from "../../../src/dev/personas.js";
import { createTestDatabase, TEST_DATABASE_URL } from "../../helpers/database.js";
import { startServerProcess as startMain } from "../../helpers/process.js";
import { tempDir } from "../../helpers/temp.js";

describe("npm start", () => {
  it("starts in dev mode, says where and how to get a token, serves requests and stops on SIGTERM", async () => {
    const main = startMain({ PORT: "0" });
    try {
      const listening = await main.waitFor(/API listening on (http:\/\/127\.0\.0\.1:\d+\/graphql) \(dev mode/);
      expect(listening, main.output()).not.toBeNull();
      // The lines after the first may arrive in a later chunk of stdout: wait for them rather than read at once.
      expect(await main.waitFor(/npm run -s token -- alice/), main.output()).not.toBeNull();
      const response = await fetch(listening![1]!, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query: "{ me { sub } }" }),
      });
      expect(await response.json()).toEqual({ data: { me: null } });
      main.child.kill("SIGTERM");
      expect(await main.exited).toBe(0);
    } finally {
      main.child.kill("SIGKILL");
    }
  });

  it("keeps what was written across a restart (embedded PGlite under DATA_DIR)", async () => {
    const dataDir = tempDir("main-restart-");
    const first = await placeAndStop({ PORT: "0", DATA_DIR: dataDir }, "restart-1");
    const second = startMain({ PORT: "0", DATA_DIR: dataDir });
    try {
      const url = (await second.waitFor(/API listening on (\S+)/))![1]!;
      const ids = await myOrderIds(url, dataDir);
      expect(ids).toContain(first);
      second.child.kill("SIGTERM");
      expect(await second.exited).toBe(0);
    } finally {
      second.child.kill("SIGKILL");
    }
  }, 240_000); // two server starts on PGlite: about 40 s each at a load of 12 on two cores

  it.skipIf(!TEST_DATABASE_URL)("uses PostgreSQL when DATABASE_URL is set", async () => {
    const scratch = await createTestDatabase(TEST_DATABASE_URL!);
    try {
      const dataDir = tempDir("main-pg-");
      await placeAndStop({ PORT: "0", DATA_DIR: dataDir, DATABASE_URL: scratch.url }, "pg-1");
      // The order is in PostgreSQL, not in an embedded database.
      const pg = await import("pg");
      const client = new pg.default.Client({ connectionString: scratch.url });
      await client.connect();
      const { rows } = await client.query("select count(*)::int as n from orders where idempotency_key = 'pg-1'");
      await client.end();
      expect(rows[0].n).toBe(1);
    } finally {
      await scratch.drop();
    }
  });

  it.each([
    [{ PORT: "abc" }, "PORT"],
    [{ DATABASE_URL: "mysql://x" }, "DATABASE_URL"],
    [{ NODE_ENV: "production" }, "COGNITO_USER_POOL_ID"],
  ])("refuses to start with %j, naming %s", async (env, variable) => {
    const main = startMain(env);
    expect(await main.exited).toBe(1);
    expect(main.output()).toContain(`Configuration error: ${variable}:`);
  });

  it("refuses to start when the key set cannot be loaded", async () => {
    const main = startMain({
      PORT: "0",
      COGNITO_USER_POOL_ID: "us-east-1_AbC123",
      COGNITO_CLIENT_ID: "c1",
      // Nothing listens on port 9 (discard) on loopback: the fetch fails at once.
      COGNITO_JWKS_URI: "http://127.0.0.1:9/jwks.json",
    });
    expect(await main.exited).toBe(1);
    expect(main.output()).toContain(
      "Cannot start: COGNITO_JWKS_URI: user pool us-east-1_AbC123: the key set at https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC123/.well-known/jwks.json could not be loaded (Failed to fetch http://127.0.0.1:9/jwks.json",
    );
  });
});

/** Alice's token for a server started on `dataDir` (the dev issuer's keys live there). */
const aliceToken = (dataDir: string) => DevIssuer.load(join(dataDir, "dev-issuer-keys.json")).mint(PERSONAS.alice);

async function graphql(url: string, token: string, query: string, variables?: unknown) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as { data?: any; errors?: unknown[] };
}

async function myOrderIds(url: string, dataDir: string): Promise<string[]> {
  const result = await graphql(url, aliceToken(dataDir), "{ myOrders(first: 100) { edges { node { id } } } }");
  return result.data.myOrders.edges.map((e: { node: { id: string } }) => e.node.id);
}

/** Starts the server, places one order as alice, stops it with SIGTERM; returns the order id. */
async function placeAndStop(env: Record<string, string>, idempotencyKey: string): Promise<string> {
  const main = startMain(env);
  try {
    const url = (await main.waitFor(/API listening on (\S+)/))![1]!;
    const placed = await graphql(
      url,
      aliceToken(env.DATA_DIR!),
      "mutation ($input: PlaceOrderInput!) { placeOrder(input: $input) { id } }",
      { input: { idempotencyKey, items: [{ productId: "prd-cable", quantity: 1 }] } },
    );
    expect(placed.errors).toBeUndefined();
    main.child.kill("SIGTERM");
    expect(await main.exited).toBe(0);
    return placed.data.placeOrder.id;
  } finally {
    main.child.kill("SIGKILL");
  }
}
