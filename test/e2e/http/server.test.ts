import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, startApp, type TestApp, type TestResponse } from "../../helpers/app.js";
import { startJwksServer, type JwksServer } from "../../helpers/jwks-server.js";
import { accessClaims, generateRsaKey, jwksOf, signToken, TEST_CLIENT_ID, TEST_POOL_ID, type TestKey } from "../../helpers/keys.js";

const ME = "{ me { sub kind username groups scopes tokenUse } }";

/** Nothing a production client must never see: claims, key ids, tokens, stack traces. */
function expectNoLeak(response: TestResponse, ...secrets: string[]) {
  expect(response.text).not.toMatch(/stacktrace|at .*\.ts:\d+/);
  for (const secret of secrets) expect(response.text).not.toContain(secret);
}

describe("the error table over HTTP (Cognito mode, production posture)", () => {
  let key: TestKey;
  let jwks: JwksServer;
  let app: TestApp;

  beforeAll(async () => {
    key = generateRsaKey();
    jwks = await startJwksServer(jwksOf(key));
    app = await startApp({
      NODE_ENV: "production",
      COGNITO_USER_POOL_ID: TEST_POOL_ID,
      COGNITO_CLIENT_ID: TEST_CLIENT_ID,
      COGNITO_JWKS_URI: jwks.url,
    });
  });
  afterAll(async () => {
    await app.close();
    await jwks.close();
  });

  it("answers a valid token with its caller", async () => {
    const response = await app.graphql(ME, { headers: bearer(signToken(key, accessClaims())) });
    expect(response.status).toBe(200);
    expect(response.body.data.me).toEqual({
      sub: "user-sub-1",
      kind: "USER",
      username: "user1",
      groups: ["support"],
      scopes: ["openid", "email", "orders/read"],
      tokenUse: "ACCESS",
    });
  });

  it("answers an anonymous caller with me = null", async () => {
    const response = await app.graphql(ME);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ data: { me: null } });
  });

  it.each([
    ["an expired token", () => signToken(key, accessClaims({ exp: Math.floor(Date.now() / 1000) - 600 })), "TOKEN_EXPIRED"],
    ["a token for another client", () => signToken(key, accessClaims({ client_id: "someone-else" })), "TOKEN_WRONG_CLIENT"],
    [
      "a token of another pool",
      () => signToken(key, accessClaims({ iss: "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other" })),
      "TOKEN_WRONG_ISSUER",
    ],
    [
      "an ID token where access tokens are required",
      () => signToken(key, accessClaims({ token_use: "id", aud: TEST_CLIENT_ID })),
      "TOKEN_WRONG_USE",
    ],
    ["a token signed by an unknown key", () => signToken(generateRsaKey(), accessClaims()), "TOKEN_UNKNOWN_KEY"],
    ["a garbled token", () => "abc.def.ghi", "TOKEN_MALFORMED"],
  ])("refuses %s with 401 invalid_token and only a reason code", async (_label, token, reason) => {
    const presented = token();
    const response = await app.graphql(ME, { headers: bearer(presented) });
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toBe('Bearer error="invalid_token"');
    expect(response.body.errors).toEqual([
      { message: "The bearer token is invalid or expired.", extensions: { code: "UNAUTHENTICATED", auth: { reason } } },
    ]);
    expect(response.body.data).toBeUndefined();
    expectNoLeak(response, presented.split(".")[1]!, key.kid, "user-sub-1", "support");
  });

  it.each([
    ["a malformed Authorization header", { authorization: "Token abc" }, "/graphql"],
    ["two credentials in one header", { authorization: "Bearer a b" }, "/graphql"],
    ["a token in the URL", {}, "/graphql?access_token=abc"],
    ["a token in the URL next to a header", { authorization: "Bearer abc" }, "/graphql?access_token=abc"],
    ["a token in a cookie", { cookie: "access_token=abc" }, "/graphql"],
  ])("refuses %s with 400 invalid_request", async (_label, headers, path) => {
    const response = await app.raw(path, { "content-type": "application/json", ...headers }, JSON.stringify({ query: ME }));
    expect(response.status).toBe(400);
    expect(response.headers.get("www-authenticate")).toBe('Bearer error="invalid_request"');
    expect(response.body.errors[0].extensions.code).toBe("BAD_REQUEST");
    expectNoLeak(response);
  });

  it("refuses two Authorization headers with 400, even if both are valid", async () => {
    const token = signToken(key, accessClaims());
    const response = await app.raw(
      "/graphql",
      { "content-type": "application/json", authorization: [`Bearer ${token}`, `Bearer ${token}`] },
      JSON.stringify({ query: ME }),
    );
    expect(response.status).toBe(400);
    expect(response.body.errors[0].extensions).toEqual({ code: "BAD_REQUEST", auth: { reason: "AUTHORIZATION_DUPLICATED" } });
  });

  it("turns introspection off and hides field suggestions in production", async () => {
    const introspection = await app.graphql("{ __schema { types { name } } }");
    expect(introspection.status).toBe(400);
    // The refusal names our setting, not Apollo's constructor option.
    expect(introspection.body.errors[0].message).toContain("Set GRAPHQL_INTROSPECTION=true");
    expect(introspection.text).not.toContain("ApolloServer");
    const typo = await app.graphql("{ me { usernam } }");
    expect(typo.status).toBe(400);
    expect(typo.text).not.toMatch(/Did you mean/);
  });

  it("serves no Sandbox in production", async () => {
    const page = await app.fetch("/graphql", { headers: { accept: "text/html" } });
    expect(page.text).not.toContain("EmbeddedSandbox");
  });

  it("keeps verifying known keys while the key endpoint is down", async () => {
    jwks.setBehaviour({ status: 500 });
    try {
      const response = await app.graphql(ME, { headers: bearer(signToken(key, accessClaims())) });
      expect(response.status).toBe(200);
    } finally {
      jwks.setBehaviour({});
    }
  });
});

describe("a key endpoint that fails", () => {
  it("answers 503 with Retry-After when the key set cannot be fetched", async () => {
    const key = generateRsaKey();
    const jwks = await startJwksServer(jwksOf(key));
    const env = { COGNITO_USER_POOL_ID: TEST_POOL_ID, COGNITO_CLIENT_ID: TEST_CLIENT_ID, COGNITO_JWKS_URI: jwks.url };
    const app = await startApp({ ...env, NODE_ENV: "production" });
    try {
      jwks.setBehaviour({ status: 500 });
      // A kid the server has not seen forces a fetch, and the key endpoint is failing.
      const response = await app.graphql(ME, { headers: bearer(signToken(generateRsaKey(), accessClaims())) });
      expect(response.status).toBe(503);
      expect(response.headers.get("retry-after")).toBe("5");
      expect(response.headers.get("www-authenticate")).toBeNull();
      expect(response.body.errors).toEqual([
        {
          message: "Authentication is temporarily unavailable. Retry later.",
          extensions: { code: "AUTH_UNAVAILABLE", auth: { reason: "KEYS_UNAVAILABLE" } },
        },
      ]);
    } finally {
      await app.close();
      await jwks.close();
    }
  });
});

describe("dev mode over HTTP", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startApp();
  });
  afterAll(() => app.close());

  it("explains a refusal in extensions.auth", async () => {
    const response = await app.graphql(ME, { headers: bearer("abcd.efgh.ijkl") });
    expect(response.status).toBe(401);
    expect(response.body.errors[0].extensions.auth).toEqual({ reason: "TOKEN_MALFORMED", detail: "Token header is not JSON" });
  });

  it("accepts the dev issuer's access, ID and machine tokens through the Cognito verifier", async () => {
    const issuer = app.devIssuer!;
    const user = await app.graphql(ME, {
      headers: bearer(issuer.mint({ sub: "u1", clientId: "devwebapp", username: "u1", groups: ["g"], scopes: ["s"] })),
    });
    expect(user.body.data.me).toMatchObject({ sub: "u1", kind: "USER", groups: ["g"], scopes: ["s"] });
    const id = await app.graphql("{ me { email tokenUse } }", {
      headers: bearer(issuer.mint({ sub: "u1", clientId: "devwebapp", username: "u1", tokenUse: "id", email: "u1@example.com" })),
    });
    expect(id.body.data.me).toEqual({ email: "u1@example.com", tokenUse: "ID" });
    const machine = await app.graphql(ME, {
      headers: bearer(issuer.mint({ sub: "devfulfillment", clientId: "devfulfillment", scopes: ["orders/read"] })),
    });
    expect(machine.body.data.me).toMatchObject({ kind: "CLIENT", username: null, scopes: ["orders/read"] });
  });

  it("refuses a dev token for an app client the dev pool does not have", async () => {
    const response = await app.graphql(ME, { headers: bearer(app.devIssuer!.mint({ sub: "u", clientId: "stranger", username: "u" })) });
    expect(response.status).toBe(401);
    expect(response.body.errors[0].extensions.auth.reason).toBe("TOKEN_WRONG_CLIENT");
  });

  it("serves Apollo Sandbox with a fresh dev token in the Authorization header", async () => {
    const page = await app.fetch("/graphql", { headers: { accept: "text/html" } });
    expect(page.status).toBe(200);
    expect(page.text).toContain("EmbeddedSandbox");
    const token = /"Authorization":"Bearer ([A-Za-z0-9_.-]+)"/.exec(page.text)?.[1];
    expect(token).toBeDefined();
    const me = await app.graphql("{ me { username } }", { headers: bearer(token!) });
    expect(me.body.data.me).toEqual({ username: "alice" });
  });

  it("answers probes and unknown paths", async () => {
    expect((await app.fetch("/healthz")).status).toBe(200);
    expect((await app.fetch("/readyz")).status).toBe(200);
    expect((await app.fetch("/nope")).status).toBe(404);
    const root = await app.fetch("/", { redirect: "manual" });
    expect(root.status).toBe(302);
    expect(root.headers.get("location")).toBe("/graphql");
  });

  it("refuses a body over 1 MiB with 413 and malformed JSON with 400", async () => {
    const large = await app.fetch("/graphql", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: ME, padding: "x".repeat(1024 * 1024) }),
    });
    expect(large.status).toBe(413);
    const broken = await app.fetch("/graphql", { method: "POST", headers: { "content-type": "application/json" }, body: "{" });
    expect(broken.status).toBe(400);
  });
});
