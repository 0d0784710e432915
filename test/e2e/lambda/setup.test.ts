import type { APIGatewayProxyEventV2, Context } from "aws-lambda";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import httpApiFixture from "../../fixtures/http-api-v2-event.json" with { type: "json" };
import { createTestDatabase, TEST_DATABASE_URL, type ScratchDatabase } from "../../helpers/database.js";
import { stashEnv } from "../../helpers/env.js";
import { startJwksServer, type JwksServer } from "../../helpers/jwks-server.js";
import { accessClaims, generateRsaKey, jwksOf, signToken, TEST_CLIENT_ID, TEST_POOL_ID, type TestKey } from "../../helpers/keys.js";
import { tempDir } from "../../helpers/temp.js";

/**
 * A cold start sets up the key set, the database and the schema at once. When one of them fails, the invocation
 * reports it, nothing of the attempt stays open (its database connections are closed), and the next invocation
 * starts over.
 */
const ENV = ["NODE_ENV", "COGNITO_USER_POOL_ID", "COGNITO_CLIENT_ID", "COGNITO_JWKS_URI", "DATA_DIR", "DATABASE_URL", "LOG_LEVEL"] as const;

describe.skipIf(!TEST_DATABASE_URL)("the Lambda handler's set-up on PostgreSQL", () => {
  let key: TestKey;
  let jwks: JwksServer;
  let scratch: ScratchDatabase;
  let restoreEnv: () => void;
  let lambda: typeof import("../../../src/lambda.js");

  beforeAll(async () => {
    restoreEnv = stashEnv(ENV);
    key = generateRsaKey();
    jwks = await startJwksServer(jwksOf(key));
    scratch = await createTestDatabase(TEST_DATABASE_URL!);
    // The key set is down at the cold start.
    jwks.setBehaviour({ status: 500 });
    Object.assign(process.env, {
      NODE_ENV: "production",
      LOG_LEVEL: "silent",
      COGNITO_USER_POOL_ID: TEST_POOL_ID,
      COGNITO_CLIENT_ID: TEST_CLIENT_ID,
      COGNITO_JWKS_URI: jwks.url,
      DATA_DIR: tempDir("lambda-setup-"),
      DATABASE_URL: scratch.url,
    });
    vi.resetModules();
    lambda = await import("../../../src/lambda.js");
  }, 60_000);

  afterAll(async () => {
    await (await lambda?.lambdaInstance().catch(() => undefined))?.database.close();
    await jwks?.close();
    await scratch?.drop();
    restoreEnv?.();
  });

  const event = () => {
    const body = JSON.stringify({ query: "{ me { sub } }" });
    const fixture = structuredClone(httpApiFixture) as unknown as APIGatewayProxyEventV2;
    return {
      ...fixture,
      body,
      headers: { ...fixture.headers, "content-length": String(body.length), authorization: `Bearer ${signToken(key, accessClaims())}` },
    };
  };
  const context = { awsRequestId: "test" } as Context;

  it("fails the invocation with the key set's error, closes the attempt's connections, and starts over on the next", async () => {
    await expect(lambda.handler(event(), context)).rejects.toThrow(/Status code is 500/);
    expect(await connectionsTo(scratch.url)).toBe(0);

    jwks.setBehaviour({});
    const result = await lambda.handler(event(), context);
    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body!)).toEqual({ data: { me: { sub: "user-sub-1" } } });
  }, 60_000);
});

/** Connections that other clients hold open to the database of `url`. */
async function connectionsTo(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>(
      "select count(*)::int as n from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()",
    );
    return rows[0]!.n;
  } finally {
    await client.end();
  }
}
