import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ALBEvent, APIGatewayProxyEventV2, Context } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import albFixture from "../../fixtures/alb-event.json" with { type: "json" };
import httpApiFixture from "../../fixtures/http-api-v2-event.json" with { type: "json" };
import { startJwksServer, type JwksServer } from "../../helpers/jwks-server.js";
import { generateRsaKey, jwksOf, TEST_CLIENT_ID, TEST_POOL_ID } from "../../helpers/keys.js";

/**
 * The Lambda handlers never serve the dev server's `POST /dev/token`, in dev mode or with a pool in production:
 * the path answers 404 instead of being taken as a GraphQL request. Each mode is a fresh import of the handler
 * module (a cold start) with its own environment.
 */
const context = { awsRequestId: "test", functionName: "graphql" } as Context;
const BODY = JSON.stringify({ persona: "alice" });
const ENV = ["NODE_ENV", "COGNITO_USER_POOL_ID", "COGNITO_CLIENT_ID", "COGNITO_JWKS_URI", "DATA_DIR"];

function httpApiEvent(rawPath: string, body = BODY): APIGatewayProxyEventV2 {
  const event = structuredClone(httpApiFixture) as unknown as APIGatewayProxyEventV2;
  return { ...event, rawPath, body, headers: { ...event.headers, "content-length": String(body.length) } };
}

function albEvent(path: string, body = BODY): ALBEvent {
  const event = structuredClone(albFixture) as unknown as ALBEvent;
  return { ...event, path, body };
}

let jwks: JwksServer;
let dataDir: string;
beforeAll(async () => {
  jwks = await startJwksServer(jwksOf(generateRsaKey()));
  dataDir = mkdtempSync(join(tmpdir(), "lambda-dev-"));
});
afterAll(async () => {
  for (const name of ENV) delete process.env[name];
  await jwks?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function coldStart(env: Record<string, string>): Promise<typeof import("../../../src/lambda.js")> {
  for (const name of ENV) delete process.env[name];
  Object.assign(process.env, env);
  vi.resetModules();
  return import("../../../src/lambda.js");
}

describe.each([
  ["in dev mode", () => ({ DATA_DIR: join(dataDir, "dev") })],
  [
    "in production with a pool",
    () => ({
      NODE_ENV: "production",
      COGNITO_USER_POOL_ID: TEST_POOL_ID,
      COGNITO_CLIENT_ID: TEST_CLIENT_ID,
      COGNITO_JWKS_URI: jwks.url,
      DATA_DIR: join(dataDir, "prod"),
    }),
  ],
])("the Lambda handlers %s", (_label, env) => {
  let lambda: typeof import("../../../src/lambda.js");
  beforeAll(async () => {
    lambda = await coldStart(env());
  }, 120_000);

  it("answer 404 for /dev/token (also under a stage prefix) and serve GraphQL", async () => {
    for (const path of ["/dev/token", "/prod/dev/token"]) {
      const viaHttpApi = await lambda.handler(httpApiEvent(path), context);
      expect([viaHttpApi.statusCode, viaHttpApi.body]).toEqual([404, expect.not.stringMatching(/eyJ/)]);
      const viaAlb = await lambda.albHandler(albEvent(path), context);
      expect([viaAlb.statusCode, viaAlb.body]).toEqual([404, expect.not.stringMatching(/eyJ/)]);
    }
    const graphql = await lambda.handler(httpApiEvent("/graphql", JSON.stringify({ query: "{ me { sub } }" })), context);
    expect([graphql.statusCode, JSON.parse(graphql.body!)]).toEqual([200, { data: { me: null } }]);
    // The first invocation opens the embedded database (the cold start's slow part).
  }, 120_000);
});
