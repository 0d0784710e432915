import type { APIGatewayProxyEventV2, Context } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import httpApiFixture from "../../fixtures/http-api-v2-event.json" with { type: "json" };
import { startJwksServer, type JwksServer } from "../../helpers/jwks-server.js";
import { accessClaims, generateRsaKey, jwksOf, signToken, TEST_CLIENT_ID, TEST_POOL_ID, type TestKey } from "../../helpers/keys.js";
import { tempDir } from "../../helpers/temp.js";

/** The pipeline fixes on the Lambda transport, which shares the HTTP server's Apollo configuration (F7, F8). */
const context = { awsRequestId: "test", functionName: "graphql" } as Context;
let key: TestKey;
let jwks: JwksServer;
let lambda: typeof import("../../../src/lambda.js");

beforeAll(async () => {
  key = generateRsaKey();
  jwks = await startJwksServer(jwksOf(key));
  Object.assign(process.env, {
    NODE_ENV: "production",
    COGNITO_USER_POOL_ID: TEST_POOL_ID,
    COGNITO_CLIENT_ID: TEST_CLIENT_ID,
    COGNITO_JWKS_URI: jwks.url,
    DATA_DIR: tempDir("lambda-"),
  });
  lambda = await import("../../../src/lambda.js");
});

afterAll(async () => {
  for (const name of ["NODE_ENV", "COGNITO_USER_POOL_ID", "COGNITO_CLIENT_ID", "COGNITO_JWKS_URI", "DATA_DIR"]) delete process.env[name];
  await (await lambda?.lambdaInstance().catch(() => undefined))?.close();
  await jwks.close();
});

function httpApiEvent(body: string, headers: Record<string, string> = {}): APIGatewayProxyEventV2 {
  const event = structuredClone(httpApiFixture) as unknown as APIGatewayProxyEventV2;
  return { ...event, body, rawQueryString: "", headers: { ...event.headers, "content-length": String(body.length), ...headers } };
}

describe("the Lambda handlers", () => {
  it("answer a subscription with @skip/@include on its root selection 400 GRAPHQL_VALIDATION_FAILED (F7)", async () => {
    const token = signToken(key, accessClaims());
    for (const query of [
      "subscription ($s: Boolean = false) { orderEvents @skip(if: $s) { kind } }",
      "subscription { orderEvents @include(if: $nope) { kind } }",
      "subscription ($s: Boolean = false) { ...F @skip(if: $s) } fragment F on Subscription { orderEvents { kind } }",
    ]) {
      const result = await lambda.handler(httpApiEvent(JSON.stringify({ query }), { authorization: `Bearer ${token}` }), context);
      expect(result.statusCode, result.body).toBe(400);
      expect(JSON.parse(result.body!).errors[0].extensions.code).toBe("GRAPHQL_VALIDATION_FAILED");
    }
  });

  it("answer a variable nested 20,000 deep 400 BAD_USER_INPUT (F8)", async () => {
    const deep = `${"[".repeat(20_000)}"leaf"${"]".repeat(20_000)}`;
    const body = `{"query":"query ($id: ID!) { order(id: $id) { id } }","variables":{"id":${deep}}}`;
    const result = await lambda.handler(httpApiEvent(body), context);
    expect(result.statusCode, result.body).toBe(400);
    expect(JSON.parse(result.body!).errors[0].extensions.code).toBe("BAD_USER_INPUT");
  });
});
