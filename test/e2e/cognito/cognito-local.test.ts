import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../../src/config.js";
import { bearer, startApp, type TestApp, type TestResponse } from "../../helpers/app.js";
import { startCognitoLocal } from "../../helpers/cognito-local.js";
import { startJwksServer, type JwksServer } from "../../helpers/jwks-server.js";
import { accessClaims, generateRsaKey, jwksOf, signToken, TEST_CLIENT_ID, TEST_POOL_ID } from "../../helpers/keys.js";
import { claimsOf, createTestPool, type RunningEmulator, type TestPool } from "../../helpers/moto.js";
import { stashEnv } from "../../helpers/env.js";

/**
 * COGNITO_ISSUER: pointing the product at a local Cognito emulator whose issuer is not Cognito's, here
 * cognito-local (issuer `http://127.0.0.1:PORT/<pool>`, pool ids like `local_0nFa3hjY`), started by the test.
 */
const variableOf = (env: Record<string, string>) => {
  try {
    loadConfig(env);
    return "accepted";
  } catch (error) {
    return (error as ConfigError).variable;
  }
};

describe("COGNITO_ISSUER in the configuration", () => {
  const local = { COGNITO_USER_POOL_ID: "local_0nFa3hjY", COGNITO_CLIENT_ID: "abc123" };

  it("accepts an emulator's issuer per pool, and with it the emulator's pool ids", () => {
    const config = loadConfig({ ...local, COGNITO_ISSUER: "http://localhost:9229/local_0nFa3hjY" });
    expect(config.auth).toMatchObject({ userPoolIds: ["local_0nFa3hjY"], issuers: ["http://localhost:9229/local_0nFa3hjY"] });
    expect(loadConfig({ COGNITO_USER_POOL_ID: "us-east-1_AbC", COGNITO_CLIENT_ID: "c" }).auth.issuers).toBeNull();
  });

  it.each([
    ["an emulator's pool id without it", local, "COGNITO_USER_POOL_ID"],
    ["it in production", { ...local, COGNITO_ISSUER: "http://localhost:9229/local_0nFa3hjY", NODE_ENV: "production" }, "COGNITO_ISSUER"],
    ["it without a pool", { COGNITO_ISSUER: "http://localhost:9229/local_0nFa3hjY" }, "COGNITO_ISSUER"],
    [
      "one issuer for two pools",
      { ...local, COGNITO_USER_POOL_ID: "local_a,local_b", COGNITO_ISSUER: "http://localhost:9229/local_a" },
      "COGNITO_ISSUER",
    ],
    ["an issuer that is not a URL", { ...local, COGNITO_ISSUER: "localhost:9229" }, "COGNITO_ISSUER"],
    [
      "a pool id with a slash",
      { ...local, COGNITO_USER_POOL_ID: "a/b", COGNITO_ISSUER: "http://localhost:9229/a/b" },
      "COGNITO_USER_POOL_ID",
    ],
  ])("refuses %s, naming the variable", (_label, env, variable) => {
    expect(variableOf(env as Record<string, string>)).toBe(variable);
  });

  it("names the variable and says why in production", () => {
    expect(() => loadConfig({ ...local, COGNITO_ISSUER: "http://localhost:9229/local_0nFa3hjY", NODE_ENV: "production" })).toThrow(
      /COGNITO_ISSUER: .*refused when NODE_ENV=production/,
    );
  });
});

describe("the server against cognito-local", () => {
  let emulator: RunningEmulator;
  let pool: TestPool;
  let app: TestApp;
  let issuer: string;
  let restoreEnv: (() => void) | undefined;
  const SDK_ENV = ["AWS_ENDPOINT_URL", "AWS_REGION"] as const;
  const reasonOf = (response: TestResponse) => response.body?.errors?.[0]?.extensions?.auth;

  beforeAll(async () => {
    emulator = await startCognitoLocal();
    pool = await createTestPool(emulator.endpoint, [
      { username: "sam@example.com", email: "sam@example.com", emailVerified: true, groups: ["support"] },
      { username: "bob@example.com", email: "bob@example.com", emailVerified: false, groups: [] },
    ]);
    issuer = `${emulator.endpoint}/${pool.userPoolId}`;
    // The SDK's generic endpoint setting this time; cognito-local's pool ids carry no region, so AWS_REGION counts.
    restoreEnv = stashEnv(SDK_ENV);
    Object.assign(process.env, { AWS_ENDPOINT_URL: emulator.endpoint, AWS_REGION: "local" });
    app = await startApp({ COGNITO_USER_POOL_ID: pool.userPoolId, COGNITO_CLIENT_ID: pool.webClientId, COGNITO_ISSUER: issuer });
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    await emulator?.stop();
    restoreEnv?.();
  });

  it("verifies cognito-local's tokens against its issuer, with the key set fetched from the issuer", async () => {
    expect(pool.userPoolId).toMatch(/^local_/);
    const tokens = await pool.signIn("sam@example.com");
    expect(claimsOf(tokens.AccessToken)).toMatchObject({ iss: issuer, token_use: "access", "cognito:groups": ["support"] });
    const response = await app.graphql("{ me { sub kind groups tokenUse issuer clientId } }", { headers: bearer(tokens.AccessToken) });
    expect(response.body.data.me).toEqual({
      sub: claimsOf(tokens.AccessToken).sub,
      kind: "USER",
      groups: ["support"],
      tokenUse: "ACCESS",
      issuer,
      clientId: pool.webClientId,
    });
  });

  it("keeps the Cognito checks: token use and client", async () => {
    const tokens = await pool.signIn("sam@example.com");
    const id = await app.graphql("{ me { sub } }", { headers: bearer(tokens.IdToken) });
    expect([id.status, reasonOf(id)?.reason]).toEqual([401, "TOKEN_WRONG_USE"]);
    const other = await pool.signIn("sam@example.com", pool.secretClientId);
    const wrongClient = await app.graphql("{ me { sub } }", { headers: bearer(other.AccessToken) });
    expect([wrongClient.status, reasonOf(wrongClient)?.reason]).toEqual([401, "TOKEN_WRONG_CLIENT"]);
  });

  it("explains a wrong issuer in dev mode with the token's iss and the accepted issuers", async () => {
    const key = generateRsaKey();
    const token = signToken(key, accessClaims());
    const response = await app.graphql("{ me { sub } }", { headers: bearer(token) });
    expect(response.status).toBe(401);
    const auth = reasonOf(response);
    expect(auth.reason).toBe("TOKEN_WRONG_ISSUER");
    expect(auth.detail).toContain(JSON.stringify(claimsOf(token).iss));
    expect(auth.detail).toContain(`accepted: ${issuer}`);
  });

  it("records the customer's verified email through cognito-local's GetUser, never an unverified one", async () => {
    const ada = await createProductAsAdmin();
    const emails: Record<string, unknown> = {};
    for (const who of ["sam@example.com", "bob@example.com"]) {
      const { AccessToken } = await pool.signIn(who);
      const placed = await app.graphql("mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id } }", {
        headers: bearer(AccessToken),
        variables: { input: { items: [{ productId: ada, quantity: 1 }], idempotencyKey: randomUUID() } },
      });
      const id = placed.body.data.placeOrder.id;
      const read = await app.graphql("query($id: ID!) { order(id: $id) { customerEmail } }", {
        headers: bearer(AccessToken),
        variables: { id },
      });
      emails[who] = read.body.data.order.customerEmail;
    }
    expect(emails).toEqual({ "sam@example.com": "sam@example.com", "bob@example.com": null });
  });

  /** cognito-local users are not admins here; the product row is written directly, as an operator's import would. */
  async function createProductAsAdmin(): Promise<string> {
    const id = `prd-${randomUUID()}`;
    await app.db
      .insertInto("products")
      .values({ id, sku: id, name: "Local", description: null, priceCents: 100, costPriceCents: 10, stock: 10, active: true })
      .execute();
    return id;
  }
});

describe("a wrong issuer in production", () => {
  let jwks: JwksServer;
  let app: TestApp;
  beforeAll(async () => {
    jwks = await startJwksServer(jwksOf(generateRsaKey()));
    app = await startApp({
      NODE_ENV: "production",
      COGNITO_USER_POOL_ID: TEST_POOL_ID,
      COGNITO_CLIENT_ID: TEST_CLIENT_ID,
      COGNITO_JWKS_URI: jwks.url,
    });
  }, 120_000);
  afterAll(async () => {
    await app?.close();
    await jwks?.close();
  });

  it("carries only the reason code, neither issuer", async () => {
    const token = signToken(generateRsaKey(), accessClaims({ iss: "http://localhost:9229/local_x" }));
    const response = await app.graphql("{ me { sub } }", { headers: bearer(token) });
    expect(response.body.errors[0].extensions.auth).toEqual({ reason: "TOKEN_WRONG_ISSUER" });
    expect(response.text).not.toContain("localhost:9229");
    expect(response.text).not.toContain(TEST_POOL_ID);
  });
});
