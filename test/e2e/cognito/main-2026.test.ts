import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startJwksServer, type JwksServer } from "../../helpers/jwks-server.js";
import { accessClaims, generateRsaKey, jwksOf, signToken, TEST_CLIENT_ID, type TestKey } from "../../helpers/keys.js";
import { startServerProcess, type ServerProcess } from "../../helpers/process.js";

/**
 * The product as `npm start` runs it with two pools, a replica region and a resource-server audience: `/readyz`
 * names each pool's key set, `/metrics` has `auth_key_set_ready` per pool, and tokens go through real HTTP.
 */

const POOL_A = "us-east-1_PoolAlpha1";
const POOL_B = "eu-west-1_PoolBravo2";
const AUDIENCE = "https://orders.example.com";

let keyA: TestKey;
let keyB: TestKey;
let serverA: JwksServer;
let serverB: JwksServer;
let main: ServerProcess;
let url: string;

beforeAll(async () => {
  [keyA, keyB] = [generateRsaKey(), generateRsaKey()];
  serverA = await startJwksServer(jwksOf(keyA));
  serverB = await startJwksServer(jwksOf(keyB));
  main = startServerProcess({
    COGNITO_USER_POOL_ID: `${POOL_A},${POOL_B}`,
    COGNITO_CLIENT_ID: TEST_CLIENT_ID,
    // One URL per pool: every key-set URL of a pool (its replica regions' too) is fetched from it.
    COGNITO_JWKS_URI: `${serverA.url},${serverB.url}`,
    COGNITO_REPLICA_REGIONS: "us-west-2",
    COGNITO_ACCESS_TOKEN_AUDIENCE: AUDIENCE,
    HOST: "127.0.0.1",
    LOG_LEVEL: "info",
  });
  url = await main.url();
}, 180_000);

afterAll(async () => {
  main?.kill();
  await Promise.all([serverA?.close(), serverB?.close()]);
});

const me = (token: string) =>
  fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: "{ me { sub issuer kind } }" }),
  });

describe("npm start with two pools, a replica region and an audience", () => {
  it("is ready, naming each pool's key set in /readyz and in auth_key_set_ready", async () => {
    const readyz = await fetch(url.replace(/\/graphql$/, "/readyz"));
    expect(readyz.status).toBe(200);
    expect((await readyz.json()).checks).toMatchObject({ keys: true, [`keys:${POOL_A}`]: true, [`keys:${POOL_B}`]: true });
    const metrics = await (await fetch(url.replace(/\/graphql$/, "/metrics"))).text();
    expect(metrics).toContain(`auth_key_set_ready{user_pool="${POOL_A}"} 1`);
    expect(metrics).toContain(`auth_key_set_ready{user_pool="${POOL_B}"} 1`);
  });

  it("accepts a resource-bound token of each pool, and one signed in the replica region", async () => {
    const cases: [TestKey, string][] = [
      [keyA, `https://cognito-idp.us-east-1.amazonaws.com/${POOL_A}`],
      [keyB, `https://cognito-idp.eu-west-1.amazonaws.com/${POOL_B}`],
      [keyA, `https://cognito-idp.us-west-2.amazonaws.com/${POOL_A}`],
    ];
    for (const [key, iss] of cases) {
      const response = await me(signToken(key, accessClaims({ iss, aud: AUDIENCE })));
      expect(await response.json(), iss).toEqual({ data: { me: { sub: "user-sub-1", issuer: iss, kind: "USER" } } });
    }
  });

  it("refuses a token minted for another resource server with 401 TOKEN_WRONG_AUDIENCE", async () => {
    const response = await me(
      signToken(keyA, accessClaims({ iss: `https://cognito-idp.us-east-1.amazonaws.com/${POOL_A}`, aud: "https://billing.example.com" })),
    );
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toBe('Bearer error="invalid_token"');
    const body = await response.json();
    expect([body.errors[0].extensions.code, body.errors[0].extensions.auth.reason]).toEqual(["UNAUTHENTICATED", "TOKEN_WRONG_AUDIENCE"]);
  });

  it("refuses a token of an unlisted replica region with 401 TOKEN_WRONG_ISSUER", async () => {
    const response = await me(
      signToken(keyA, accessClaims({ iss: `https://cognito-idp.eu-central-1.amazonaws.com/${POOL_A}`, aud: AUDIENCE })),
    );
    expect(response.status).toBe(401);
    expect((await response.json()).errors[0].extensions.auth.reason).toBe("TOKEN_WRONG_ISSUER");
  });
});
