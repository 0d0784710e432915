import type { ALBEvent, APIGatewayProxyEventV2, Context } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import albFixture from "../../fixtures/alb-event.json" with { type: "json" };
import httpApiFixture from "../../fixtures/http-api-v2-event.json" with { type: "json" };
import { startJwksServer, type JwksServer } from "../../helpers/jwks-server.js";
import { accessClaims, generateRsaKey, jwksOf, signToken, TEST_CLIENT_ID, TEST_POOL_ID, type TestKey } from "../../helpers/keys.js";
import { tempDir } from "../../helpers/temp.js";
import { randomUUID } from "node:crypto";
import { sql } from "kysely";
import { recordRevocation } from "../../../src/data/revocations.js";

const context = { awsRequestId: "test", functionName: "graphql" } as Context;
const ME = JSON.stringify({ query: "{ me { sub groups } }" });

let key: TestKey;
let jwks: JwksServer;
let lambda: typeof import("../../../src/lambda.js");

beforeAll(async () => {
  key = generateRsaKey();
  jwks = await startJwksServer(jwksOf(key));
  // The handler reads its configuration once per cold start, as on Lambda.
  Object.assign(process.env, {
    NODE_ENV: "production",
    COGNITO_USER_POOL_ID: TEST_POOL_ID,
    COGNITO_CLIENT_ID: TEST_CLIENT_ID,
    COGNITO_JWKS_URI: jwks.url,
    DATA_DIR: tempDir("lambda-"),
    // An instance whose revocations cannot be reloaded for 3 s answers 503 (the test of that below).
    REVOCATION_RELOAD_SECONDS: "1",
  });
  lambda = await import("../../../src/lambda.js");
});

afterAll(async () => {
  for (const name of ["NODE_ENV", "COGNITO_USER_POOL_ID", "COGNITO_CLIENT_ID", "COGNITO_JWKS_URI", "DATA_DIR", "REVOCATION_RELOAD_SECONDS"])
    delete process.env[name];
  await jwks.close();
});

function httpApiEvent(body: string, headers: Record<string, string> = {}, rawQueryString = ""): APIGatewayProxyEventV2 {
  const event = structuredClone(httpApiFixture) as unknown as APIGatewayProxyEventV2;
  return { ...event, body, rawQueryString, headers: { ...event.headers, "content-length": String(body.length), ...headers } };
}

function albEvent(body: string, headers: Record<string, string> = {}, queryStringParameters: Record<string, string> = {}): ALBEvent {
  const event = structuredClone(albFixture) as unknown as ALBEvent;
  return { ...event, body, queryStringParameters, headers: { ...event.headers, ...headers } };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe("revocation on the Lambda handlers", () => {
  const meOf = async (token: string) => {
    const result = await lambda.handler(httpApiEvent(ME, bearer(token)), context);
    return { status: result.statusCode, reason: JSON.parse(result.body!).errors?.[0]?.extensions?.auth?.reason };
  };

  it("refuses a token revoked through the handler at once, and one revoked by another replica within the short-lived cache's age", async () => {
    const own = signToken(key, accessClaims({ sub: `sub-${randomUUID()}` }));
    const signedOut = await lambda.handler(
      httpApiEvent(JSON.stringify({ query: "mutation { signOut { sessionId } }" }), bearer(own)),
      context,
    );
    expect(signedOut.statusCode).toBe(200);
    expect(await meOf(own)).toEqual({ status: 401, reason: "TOKEN_REVOKED" });

    const sub = `sub-${randomUUID()}`;
    const elsewhere = signToken(key, accessClaims({ sub, auth_time: Math.floor(Date.now() / 1000) - 60 }));
    expect((await meOf(elsewhere)).status).toBe(200);
    // Written as another replica would: the handler hears no notification and must reload.
    const { db } = await lambda.lambdaInstance();
    await recordRevocation(db, {
      sub,
      revokedBefore: new Date(),
      expiresAt: new Date(Date.now() + 3_600_000),
      revokedBy: "elsewhere",
      cognitoSignedOut: false,
    });
    const started = Date.now();
    let answer = await meOf(elsewhere);
    while (answer.status === 200 && Date.now() - started < lambda.LAMBDA_REVOCATION_MAX_AGE_MS + 2000) {
      await new Promise((r) => setTimeout(r, 50));
      answer = await meOf(elsewhere);
    }
    expect(answer).toEqual({ status: 401, reason: "TOKEN_REVOKED" });
    expect(Date.now() - started).toBeLessThan(lambda.LAMBDA_REVOCATION_MAX_AGE_MS + 1000);
  });

  it("answers 503 SERVICE_UNAVAILABLE once its revocations could not be reloaded for three REVOCATION_RELOAD_SECONDS, and serves again after a reload", async () => {
    const token = signToken(key, accessClaims({ sub: `sub-${randomUUID()}` }));
    expect((await meOf(token)).status).toBe(200);
    const { db } = await lambda.lambdaInstance();
    const poll = async (status: number) => {
      const deadline = Date.now() + 20_000;
      let result = await lambda.handler(httpApiEvent(ME, bearer(token)), context);
      while (result.statusCode !== status && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        result = await lambda.handler(httpApiEvent(ME, bearer(token)), context);
      }
      return result;
    };
    await sql`alter table revocations rename to revocations_away`.execute(db);
    try {
      const refused = await poll(503);
      expect(refused.statusCode).toBe(503);
      expect(JSON.parse(refused.body!).errors[0].extensions.code).toBe("SERVICE_UNAVAILABLE");
    } finally {
      await sql`alter table revocations_away rename to revocations`.execute(db);
    }
    expect((await poll(200)).statusCode).toBe(200);
  });
});

describe("the Lambda handler (API Gateway HTTP API)", () => {
  it("answers a verified caller", async () => {
    const result = await lambda.handler(httpApiEvent(ME, bearer(signToken(key, accessClaims()))), context);
    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body!)).toEqual({ data: { me: { sub: "user-sub-1", groups: ["support"] } } });
  });

  it("refuses an expired token with 401 and the invalid_token challenge", async () => {
    const token = signToken(key, accessClaims({ exp: Math.floor(Date.now() / 1000) - 600 }));
    const result = await lambda.handler(httpApiEvent(ME, bearer(token)), context);
    expect(result.statusCode).toBe(401);
    expect(result.headers?.["www-authenticate"]).toBe('Bearer error="invalid_token"');
    expect(JSON.parse(result.body!).errors[0].extensions).toEqual({ code: "UNAUTHENTICATED", auth: { reason: "TOKEN_EXPIRED" } });
  });

  it("refuses a denied mutation whole with 403 and the insufficient_scope challenge", async () => {
    const body = JSON.stringify({
      query: 'mutation { createProduct(input: { sku: "L-1", name: "x", priceCents: 1, costPriceCents: 1, stock: 1 }) { id } }',
    });
    const result = await lambda.handler(httpApiEvent(body, bearer(signToken(key, accessClaims()))), context);
    expect(result.statusCode).toBe(403);
    expect(result.headers?.["www-authenticate"]).toBe('Bearer error="insufficient_scope"');
  });

  it("answers a subscription with 400 saying subscriptions are not offered on Lambda", async () => {
    const body = JSON.stringify({ query: "subscription { myOrderEvents { kind } }" });
    const result = await lambda.handler(httpApiEvent(body, bearer(signToken(key, accessClaims()))), context);
    expect(result.statusCode).toBe(400);
    expect(JSON.parse(result.body!).errors[0]).toMatchObject({
      message:
        "Subscriptions are not offered on the Lambda handlers; use the HTTP server's WebSocket transport, API Gateway WebSocket APIs or AWS AppSync.",
      extensions: { code: "GRAPHQL_VALIDATION_FAILED" },
    });
  });

  it("refuses a token in the query string with 400", async () => {
    const result = await lambda.handler(httpApiEvent(ME, {}, "access_token=abc"), context);
    expect(result.statusCode).toBe(400);
    expect(result.headers?.["www-authenticate"]).toBe('Bearer error="invalid_request"');
  });

  it("refuses repeated Authorization headers, which API Gateway joins with a comma, with 400", async () => {
    const token = signToken(key, accessClaims());
    const result = await lambda.handler(httpApiEvent(ME, { authorization: `Bearer ${token},Bearer ${token}` }), context);
    expect(result.statusCode).toBe(400);
  });

  it("answers 503 with Retry-After when the key set cannot be fetched", async () => {
    jwks.setBehaviour({ status: 500 });
    try {
      const result = await lambda.handler(httpApiEvent(ME, bearer(signToken(generateRsaKey(), accessClaims()))), context);
      expect(result.statusCode).toBe(503);
      expect(result.headers?.["retry-after"]).toBe("5");
    } finally {
      jwks.setBehaviour({});
    }
  });
});

describe("the Lambda handler (Application Load Balancer)", () => {
  it("answers a verified caller, whatever the case of the header's name", async () => {
    const token = signToken(key, accessClaims({ sub: "alb-user" }));
    const result = await lambda.albHandler(albEvent(ME, { Authorization: `Bearer ${token}` }), context);
    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body!).data.me.sub).toBe("alb-user");
  });

  it("refuses a token for another app client with 401", async () => {
    const result = await lambda.albHandler(albEvent(ME, bearer(signToken(key, accessClaims({ client_id: "stranger" })))), context);
    expect(result.statusCode).toBe(401);
    expect(result.headers?.["www-authenticate"]).toBe('Bearer error="invalid_token"');
  });

  it("refuses a token in the query string with 400", async () => {
    const result = await lambda.albHandler(albEvent(ME, {}, { access_token: "abc" }), context);
    expect(result.statusCode).toBe(400);
    expect(JSON.parse(result.body!).errors[0].extensions.auth).toEqual({ reason: "TOKEN_IN_URL" });
  });

  it("answers an anonymous caller", async () => {
    const result = await lambda.albHandler(albEvent(ME), context);
    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body!)).toEqual({ data: { me: null } });
  });
});
